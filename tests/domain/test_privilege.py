"""The privilege policy on compose content: the document as compose reads it, an allow-list.

Compose's readings below were measured on the test machine with Debian's docker-compose
1.29.2 (`docker-compose -f f.yaml config`) and the compose v2 plugin (`docker compose -f
f.yaml config --format json`, reporting v5.6.1), for `privileged: <spelling>`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from berth.domain import compose_allowlist
from berth.domain.compose_yaml import MAX_DEPTH, ComposeYamlError, load_compose_yaml
from berth.domain.deployments import start_deployment
from berth.domain.errors import InvalidInput
from berth.domain.inventory import create_service, update_service
from berth.domain.privilege import compose_violations, frozen_input_violations
from berth.domain.specs import EnvVarSpec, ServiceSpec, ServiceUpdateSpec, SourceSpec, StartSpec
from berth.domain.validation import parse_compose
from berth.models import Project, Server, Service
from berth.models.enums import SourceType
from tests.support.names import unique

from . import owner, project, row_counts, server

TRUE, FALSE, ERROR = "true", "false", "error"
# spelling as written in the YAML -> (compose v1, compose v2)
COMPOSE_BOOLEANS: dict[str, tuple[str, str]] = {
    "true": (TRUE, TRUE), "True": (TRUE, TRUE), "TRUE": (TRUE, TRUE),
    "yes": (TRUE, TRUE), "Yes": (TRUE, TRUE), "YES": (TRUE, TRUE),
    "on": (TRUE, TRUE), "On": (TRUE, TRUE), "ON": (TRUE, TRUE),
    "y": (TRUE, TRUE), "Y": (TRUE, TRUE),
    '"true"': (TRUE, TRUE), '"True"': (TRUE, TRUE), '"TRUE"': (TRUE, TRUE),
    '"yes"': (TRUE, TRUE), '"on"': (TRUE, TRUE), '"y"': (TRUE, TRUE),
    "!!str yes": (TRUE, TRUE),
    "1": (ERROR, ERROR), '"1"': (ERROR, ERROR), '"t"': (ERROR, ERROR), "t": (ERROR, ERROR),
    '" true"': (ERROR, ERROR), '"true "': (ERROR, ERROR), '""': (ERROR, ERROR), "[]": (ERROR, ERROR),
    "false": (FALSE, FALSE), "no": (FALSE, FALSE), "off": (FALSE, FALSE), "n": (FALSE, FALSE),
    '"false"': (FALSE, FALSE), '"no"': (FALSE, FALSE), '"off"': (FALSE, FALSE), "0": (ERROR, ERROR),
    '"0"': (ERROR, ERROR), '"f"': (ERROR, ERROR),
}


def _service_yaml(body: str) -> str:
    indented = "".join(f"    {line}\n" for line in body.splitlines())
    return f"services:\n  web:\n    image: nginx\n{indented}"


def _where(content: str, env: dict[str, str] | None = None) -> set[str]:
    document = parse_compose(content)
    assert isinstance(document, dict), document
    return {violation.where for violation in compose_violations(document, env)}


@pytest.mark.parametrize("spelling", list(COMPOSE_BOOLEANS))
def test_a_privilege_flag_passes_only_when_compose_reads_it_as_false(spelling: str) -> None:
    v1, v2 = COMPOSE_BOOLEANS[spelling]
    for key, where in (("privileged", "services.web.privileged"),
                       ("use_api_socket", "services.web.use_api_socket"),
                       ("oom_kill_disable", "services.web.oom_kill_disable")):
        found = _where(_service_yaml(f"{key}: {spelling}"))
        # Refused when either compose could run it privileged; a spelling compose refuses
        # itself is refused here too (only a certain "false" passes).
        assert (found == set()) is (v1 == FALSE and v2 == FALSE), (key, spelling, found)
        if found:
            assert found == {where}
    build = _where(_service_yaml(f"build:\n  context: .\n  privileged: {spelling}"))
    assert (build == set()) is (v1 == FALSE), build


# name -> (compose content, env, the refused locations; empty: allowed)
CASES: dict[str, tuple[str, dict[str, str], set[str]]] = {
    # interpolation: judged with the service's variables, unknown ones refused where they matter
    "interpolated-default-true": (_service_yaml("privileged: ${P:-true}"), {}, {"services.web.privileged"}),
    "interpolated-env-yes": (_service_yaml("privileged: $P"), {"P": "yes"}, {"services.web.privileged"}),
    "interpolated-env-no": (_service_yaml("privileged: ${P}"), {"P": "no"}, set()),
    "interpolated-unknown-default-false": (_service_yaml("privileged: ${P:-false}"), {},
                                           {"services.web.privileged"}),
    "interpolated-nested": (_service_yaml("privileged: ${P:-${Q}}"), {"Q": "true"},
                            {"services.web.privileged"}),
    "interpolated-partial": (_service_yaml("privileged: tr${P}"), {"P": "ue"}, {"services.web.privileged"}),
    "interpolated-escaped": (_service_yaml("privileged: $${P}"), {"P": "false"}, {"services.web.privileged"}),
    "interpolated-plus": (_service_yaml("privileged: ${P:+true}"), {"P": "x"}, {"services.web.privileged"}),
    "interpolated-network": (_service_yaml("network_mode: ${NM}"), {"NM": "host"}, {"services.web.network_mode"}),
    "interpolated-network-unknown": (_service_yaml("network_mode: ${NM:-bridge}"), {},
                                     {"services.web.network_mode"}),
    "interpolated-network-known": (_service_yaml("network_mode: ${NM:-bridge}"), {"NM": "none"}, set()),
    "interpolated-volume-known": (_service_yaml("volumes: ['${VOL}:/data']"), {"VOL": "data"}, set()),
    "interpolated-volume-path": (_service_yaml("volumes: ['${VOL}:/data']"), {"VOL": "/etc"},
                                 {"services.web.volumes[0]"}),
    "interpolated-docker-var": (_service_yaml("network_mode: ${DOCKER_NM}"), {"DOCKER_NM": "bridge"},
                                {"services.web.network_mode"}),
    "interpolated-image-is-fine": ("services:\n  web:\n    image: nginx:${TAG:-alpine}\n", {}, set()),
    # YAML: anchors, aliases, merge keys, extension fields
    "merge-key": ("x-priv: &priv\n  privileged: true\nservices:\n  web:\n    image: nginx\n    <<: *priv\n",
                  {}, {"services.web.privileged"}),
    "alias-list": ("x-caps: &caps [SYS_ADMIN]\nservices:\n  web:\n    image: nginx\n    cap_add: *caps\n",
                   {}, {"services.web.cap_add"}),
    "extension-unused": ("x-priv: &priv\n  privileged: true\nservices:\n  web:\n    image: nginx\n", {}, set()),
    "extension-in-service": (_service_yaml("x-note: {privileged: true}"), {}, set()),
    # extends, include, profiles
    "extends-same-document": ("services:\n  base:\n    image: nginx\n    privileged: yes\n"
                              "  web:\n    extends: base\n", {}, {"services.base.privileged"}),
    "extends-file": (_service_yaml("extends: {file: common.yml, service: base}"), {},
                     {"services.web.extends.file"}),
    "include": ("include: [other.yml]\nservices:\n  web:\n    image: nginx\n", {}, {"include"}),
    "inactive-profile": ("services:\n  web:\n    image: nginx\n  dbg:\n    image: busybox\n"
                         "    profiles: [debug]\n    pid: host\n", {}, {"services.dbg.pid"}),
    # namespaces
    "network-mode-host": (_service_yaml("network_mode: host"), {}, {"services.web.network_mode"}),
    "network-mode-container": (_service_yaml("network_mode: container:other"), {}, {"services.web.network_mode"}),
    "network-mode-service": ("services:\n  db:\n    image: busybox\n  web:\n    image: nginx\n"
                             "    network_mode: service:db\n", {}, set()),
    "network-mode-unknown-service": (_service_yaml("network_mode: service:elsewhere"), {},
                                     {"services.web.network_mode"}),
    "network-mode-none": (_service_yaml("network_mode: none"), {}, set()),
    "network-named-host": (_service_yaml("networks: [outside]") + "networks:\n  outside:\n"
                           "    external: true\n    name: host\n", {}, {"networks.outside.name"}),
    "network-v1-external-host": (_service_yaml("networks: [outside]") + "networks:\n  outside:\n"
                                 "    external: {name: host}\n", {}, {"networks.outside.name"}),
    "network-key-host": (_service_yaml("networks: [host]") + "networks:\n  host: {external: true}\n", {},
                         {"services.web.networks.host", "networks.host"}),
    "network-macvlan": ("services:\n  web:\n    image: nginx\nnetworks:\n  lan:\n    driver: macvlan\n"
                        "    driver_opts: {parent: eth0}\n", {},
                        {"networks.lan.driver", "networks.lan.driver_opts"}),
    "network-plain": ("services:\n  web:\n    image: nginx\n    networks: [back]\nnetworks:\n  back: {}\n",
                      {}, set()),
    "pid-host": (_service_yaml("pid: host"), {}, {"services.web.pid"}),
    "pid-container": (_service_yaml("pid: 'container:x'"), {}, {"services.web.pid"}),
    "ipc-host": (_service_yaml("ipc: host"), {}, {"services.web.ipc"}),
    "ipc-private": (_service_yaml("ipc: private"), {}, set()),
    "uts-host": (_service_yaml("uts: host"), {}, {"services.web.uts"}),
    "userns-host": (_service_yaml("userns_mode: host"), {}, {"services.web.userns_mode"}),
    "cgroup-host": (_service_yaml("cgroup: host"), {}, {"services.web.cgroup"}),
    "cgroup-private": (_service_yaml("cgroup: private"), {}, set()),
    "volumes-from-container": (_service_yaml("volumes_from: ['container:db']"), {},
                               {"services.web.volumes_from[0]"}),
    "volumes-from-unknown-name": (_service_yaml("volumes_from: [db]"), {}, {"services.web.volumes_from[0]"}),
    "volumes-from-service": ("services:\n  db:\n    image: busybox\n  web:\n    image: nginx\n"
                             "    volumes_from: ['db:ro']\n", {}, set()),
    # confinement, capabilities, devices
    "security-label-disable": (_service_yaml("security_opt: ['label:disable']"), {},
                               {"services.web.security_opt[0]"}),
    "security-apparmor": (_service_yaml("security_opt: ['apparmor:unconfined']"), {},
                          {"services.web.security_opt[0]"}),
    "security-seccomp-file": (_service_yaml("security_opt: ['seccomp=/etc/profile.json']"), {},
                              {"services.web.security_opt[0]"}),
    "security-systempaths": (_service_yaml("security_opt: ['systempaths=unconfined']"), {},
                             {"services.web.security_opt[0]"}),
    "security-nnp-false": (_service_yaml("security_opt: ['no-new-privileges:false']"), {},
                           {"services.web.security_opt[0]"}),
    "security-nnp": (_service_yaml("security_opt: ['no-new-privileges:true']"), {}, set()),
    "cap-add-all": (_service_yaml("cap_add: [ALL]"), {}, {"services.web.cap_add"}),
    "cap-drop": (_service_yaml("cap_drop: [ALL]"), {}, set()),
    "devices": (_service_yaml("devices: ['/dev/sda:/dev/sda']"), {}, {"services.web.devices"}),
    "device-cgroup-rules": (_service_yaml("device_cgroup_rules: ['c 1:3 mr']"), {},
                            {"services.web.device_cgroup_rules"}),
    "deploy-devices": (_service_yaml("deploy:\n  resources:\n    reservations:\n      devices:\n"
                                     "        - capabilities: [gpu]"), {},
                       {"services.web.deploy.resources.reservations.devices"}),
    "deploy-limits": (_service_yaml("deploy: {resources: {limits: {cpus: '0.5'}}}"), {}, set()),
    "gpus": (_service_yaml("gpus: all"), {}, {"services.web.gpus"}),
    "runtime": (_service_yaml("runtime: nvidia"), {}, {"services.web.runtime"}),
    "isolation": (_service_yaml("isolation: process"), {}, {"services.web.isolation"}),
    "cgroup-parent": (_service_yaml("cgroup_parent: /"), {}, {"services.web.cgroup_parent"}),
    "oom-score-negative": (_service_yaml("oom_score_adj: -500"), {}, {"services.web.oom_score_adj"}),
    "oom-score": (_service_yaml("oom_score_adj: 100"), {}, set()),
    "hook-privileged": (_service_yaml("post_start:\n  - command: id\n    privileged: 'on'"), {},
                        {"services.web.post_start[0].privileged"}),
    "provider": (_service_yaml("provider: {type: anything}"), {}, {"services.web.provider"}),
    "sysctls": (_service_yaml("sysctls: {net.core.somaxconn: 1024}"), {}, set()),
    "extra-hosts": (_service_yaml("extra_hosts: ['db:10.0.0.5']"), {}, set()),
    # host files and directories
    "bind-short": (_service_yaml("volumes: ['/etc:/host-etc:ro']"), {}, {"services.web.volumes[0]"}),
    "bind-relative": (_service_yaml("volumes: ['./data:/data']"), {}, {"services.web.volumes[0]"}),
    "bind-home": (_service_yaml("volumes: ['~/x:/x']"), {}, {"services.web.volumes[0]"}),
    "bind-windows-drive": (_service_yaml("volumes: ['C:\\\\data:/data']"), {}, {"services.web.volumes[0]"}),
    "bind-long": (_service_yaml("volumes:\n  - {type: bind, source: /srv, target: /srv}"), {},
                  {"services.web.volumes[0]"}),
    "bind-long-no-source": (_service_yaml("volumes:\n  - {type: bind, target: /srv}"), {},
                            {"services.web.volumes[0]"}),
    "volume-long-path-source": (_service_yaml("volumes:\n  - {type: volume, source: /srv, target: /srv}"), {},
                                {"services.web.volumes[0]"}),
    "npipe": (_service_yaml("volumes:\n  - {type: npipe, source: x, target: /x}"), {},
              {"services.web.volumes[0]"}),
    "named-and-tmpfs": ("services:\n  web:\n    image: nginx\n    volumes:\n      - data:/data:ro\n"
                        "      - /anonymous\n      - {type: tmpfs, target: /tmp}\n"
                        "      - {type: volume, source: data, target: /d}\nvolumes:\n  data: {}\n", {}, set()),
    "driver-opts-bind": (_service_yaml("volumes: ['data:/data']") + "volumes:\n  data:\n"
                         "    driver_opts: {type: none, o: bind, device: /srv/data}\n", {},
                         {"volumes.data.driver_opts"}),
    "driver-opts-tmpfs": (_service_yaml("volumes: ['data:/data']") + "volumes:\n  data:\n"
                          "    driver_opts: {type: tmpfs, device: tmpfs, o: size=100m}\n", {}, set()),
    "volume-plugin": (_service_yaml("volumes: ['data:/data']") + "volumes:\n  data:\n    driver: sshfs\n", {},
                      {"volumes.data.driver"}),
    "env-file-absolute": (_service_yaml("env_file: /etc/environment"), {}, {"services.web.env_file"}),
    "env-file-long": (_service_yaml("env_file:\n  - path: ../x.env\n    required: false"), {},
                      {"services.web.env_file"}),
    "env-file-inside": (_service_yaml("env_file: [.env, config/app.env]"), {}, set()),
    "label-file": (_service_yaml("label_file: /etc/labels"), {}, {"services.web.label_file"}),
    "secret-host-file": (_service_yaml("secrets: [key]") + "secrets:\n  key: {file: /root/.ssh/id_rsa}\n", {},
                         {"secrets.key.file"}),
    "config-dotdot": ("services:\n  web:\n    image: nginx\nconfigs:\n  c: {file: ../../etc/passwd}\n", {},
                      {"configs.c.file"}),
    "secret-runner-env": ("services:\n  web:\n    image: nginx\nsecrets:\n  s: {environment: HTTPS_PROXY}\n",
                          {}, {"secrets.s.environment"}),
    "secret-own-env": ("services:\n  web:\n    image: nginx\nsecrets:\n  s: {environment: TOKEN}\n",
                       {"TOKEN": "x"}, set()),
    # builds
    "build-absolute": (_service_yaml("build: /"), {}, {"services.web.build"}),
    "build-dotdot": (_service_yaml("build: {context: ../other}"), {}, {"services.web.build.context"}),
    "build-url": (_service_yaml("build: https://example.test/repo.git"), {}, {"services.web.build"}),
    "build-dockerfile-host": (_service_yaml("build: {context: ., dockerfile: /etc/Dockerfile}"), {},
                              {"services.web.build.dockerfile"}),
    "build-network-host": (_service_yaml("build: {context: ., network: host}"), {},
                           {"services.web.build.network"}),
    "build-ssh": (_service_yaml("build: {context: ., ssh: [default]}"), {}, {"services.web.build.ssh"}),
    "build-additional-context": (_service_yaml("build:\n  context: .\n  additional_contexts:\n"
                                               "    etc: /etc\n    base: docker-image://alpine\n"), {},
                                 {"services.web.build.additional_contexts.etc"}),
    "build-cache-local": (_service_yaml("build: {context: ., cache_to: ['type=local,dest=/etc']}"), {},
                          {"services.web.build.cache_to[0]"}),
    "build-entitlements": (_service_yaml("build: {context: ., entitlements: [network.host]}"), {},
                           {"services.web.build.entitlements"}),
    "build-fine": (_service_yaml("build:\n  context: ./app\n  dockerfile: Dockerfile.prod\n"
                                 "  args: {A: b}\n  cache_from: [registry.test/app:cache]\n"), {}, set()),
    # unknown keys are refused by name
    "unknown-service-key": (_service_yaml("net: host"), {}, {"services.web.net"}),
    "unknown-capitalised": (_service_yaml("Privileged: true"), {}, {"services.web.Privileged"}),
    "unknown-top-level": ("services:\n  web:\n    image: nginx\nfuture: {}\n", {}, {"future"}),
    "unknown-build-key": (_service_yaml("build: {context: ., mounts: [/]}"), {}, {"services.web.build.mounts"}),
    "plain": ("version: '3.8'\nname: x\nservices:\n  web:\n    image: nginx\n    ports: ['80:80']\n"
              "    environment: {A: b}\n    healthcheck: {test: [CMD, 'true']}\n    restart: always\n"
              "    read_only: true\n    init: true\n    tmpfs: [/run]\n", {}, set()),
}


@pytest.mark.parametrize("name", list(CASES))
def test_compose_policy(name: str) -> None:
    content, env, refused = CASES[name]
    assert _where(content, env) == refused


def test_messages_name_the_location_and_the_variable_never_a_value() -> None:
    document = parse_compose(_service_yaml("privileged: ${SECRET_FLAG:-true}\nunknown_thing: 1"))
    assert isinstance(document, dict)
    messages = [v.message() for v in compose_violations(document, {"OTHER": "hunter2"})]
    assert messages[0].startswith("services.web.privileged: privileged mode")
    assert "SECRET_FLAG" in messages[0] and "allowPrivileged" in messages[0]
    assert "unknown_thing is not a compose key" in messages[1]
    assert all("hunter2" not in message for message in messages)


def test_sibling_files_may_name_each_others_services() -> None:
    frozen = {"env": [], "composeFiles": [
        {"path": "a.yml", "content": "services:\n  db:\n    image: busybox\n"},
        {"path": "b.yml", "content": "services:\n  web:\n    image: nginx\n    network_mode: service:db\n"},
    ]}
    assert frozen_input_violations(frozen) == []
    frozen["composeFiles"][1]["content"] = _service_yaml("privileged: '${P}'")  # type: ignore[index]
    frozen["env"] = [{"key": "P", "secret": False, "value": "Yes"}]
    assert [v.where for v in frozen_input_violations(frozen)] == ["services.web.privileged"]
    # A secret variable's value is not used: unknown, so refused.
    frozen["env"] = [{"key": "P", "secret": True, "value": None}]
    assert [v.where for v in frozen_input_violations(frozen)] == ["services.web.privileged"]


# ---------------------------------------------------------------- YAML bounds

def _laughs(levels: int, width: int = 10) -> str:
    lines = ['a0: &a0 "lol"']
    for level in range(1, levels + 1):
        previous = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{previous}]")
    return "x-lol:\n" + "".join(f"  {line}\n" for line in lines) + "services:\n  web:\n    image: nginx\n"


def _merge_laughs(levels: int) -> str:
    lines = ["x-m0: &m0 {k0: v}"]
    for level in range(1, levels + 1):
        merged = ", ".join([f"*m{level - 1}"] * 9)
        lines.append(f"x-m{level}: &m{level} {{<<: [{merged}], k{level}: v}}")
    return "\n".join(lines) + "\nservices:\n  web:\n    image: nginx\n"


@pytest.mark.parametrize("content,problem", [
    (_laughs(9), "expands to more than"),
    (_merge_laughs(9), "expands to more than"),
    ("services: &s\n  web:\n    image: nginx\n    labels: *s\n", "refers to its own anchor"),
    ("x: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\nservices: {web: {image: nginx}}\n",
     "nests deeper than"),
    ("x: " + "[" * 2000 + "]" * 2000 + "\nservices: {web: {image: nginx}}\n", "nests deeper than"),
])
def test_yaml_that_expands_or_nests_too_far_is_refused(content: str, problem: str) -> None:
    assert problem in str(parse_compose(content))
    with pytest.raises(ComposeYamlError):
        load_compose_yaml(content)


def test_aliases_within_the_bound_are_read() -> None:
    document = load_compose_yaml(_laughs(3))
    assert len(document["x-lol"]["a3"]) == 10


# ---------------------------------------------------------------- through the domain

COMPOSE = SourceType.COMPOSE
DOMAIN_CASES = {
    "quoted-yes": _service_yaml('privileged: "yes"'),
    "y": _service_yaml("privileged: y"),
    "merge-key": CASES["merge-key"][0],
    "network-named-host": CASES["network-named-host"][0],
    "volumes-from-container": CASES["volumes-from-container"][0],
    "security-label-disable": CASES["security-label-disable"][0],
    "unknown-key": CASES["unknown-service-key"][0],
    "interpolated-default": CASES["interpolated-default-true"][0],
}


async def _create(server_row: Server, content: str, env: list[EnvVarSpec] | None = None,
                  proj: Project | None = None) -> Service:
    proj = proj or await project()
    return await create_service(owner(), ServiceSpec(
        project_id=proj.id, environment="production", name=unique("svc"), server_id=server_row.id,
        source=SourceSpec(type=COMPOSE, compose_content=content), env=env))


@pytest.mark.parametrize("name", list(DOMAIN_CASES))
async def test_create_service_refuses_and_stores_nothing(db, name: str) -> None:
    plain, proj = await server(), await project()
    before = await row_counts()
    with pytest.raises(InvalidInput) as caught:
        await _create(plain, DOMAIN_CASES[name], proj=proj)
    assert caught.value.errors[0].field == ["input", "source", "composeContent"]
    message = caught.value.errors[0].message
    assert message.split(":")[0] in _where(DOMAIN_CASES[name]) and "allowPrivileged" in message
    assert await row_counts() == before
    allowed = await server(allow_privileged=True)
    assert (await _create(allowed, DOMAIN_CASES[name])).source["composeContent"] == DOMAIN_CASES[name]


async def test_create_service_judges_the_content_with_its_env(db) -> None:
    content = _service_yaml("network_mode: ${NM:-bridge}")
    plain = await server()
    with pytest.raises(InvalidInput):
        await _create(plain, content)
    with pytest.raises(InvalidInput):
        await _create(plain, content, env=[EnvVarSpec("NM", "host")])
    with pytest.raises(InvalidInput):  # a secret's value is never used: unknown
        await _create(plain, content, env=[EnvVarSpec("NM", "none", secret=True)])
    service = await _create(plain, content, env=[EnvVarSpec("NM", "none")])
    assert service.source["composeContent"] == content


async def test_update_service_refuses_new_content_and_new_env(db) -> None:
    plain = await server()
    content = _service_yaml("network_mode: ${NM}")
    service = await _create(plain, content, env=[EnvVarSpec("NM", "bridge")])
    before = await row_counts()
    with pytest.raises(InvalidInput) as caught:
        await update_service(owner(), ServiceUpdateSpec(
            service_id=service.id, source=SourceSpec(type=COMPOSE, compose_content=_service_yaml("ipc: host"))))
    assert caught.value.errors[0].field == ["input", "source", "composeContent"]
    # New content judged with the stored env.
    with pytest.raises(InvalidInput):
        await update_service(owner(), ServiceUpdateSpec(
            service_id=service.id,
            source=SourceSpec(type=COMPOSE, compose_content=_service_yaml("privileged: ${NM}"))))
    # A new env alone changes what the stored content means.
    with pytest.raises(InvalidInput) as caught:
        await update_service(owner(), ServiceUpdateSpec(service_id=service.id, env=[EnvVarSpec("NM", "host")]))
    assert caught.value.errors[0].field == ["input", "env"]
    assert "services.web.network_mode" in caught.value.errors[0].message
    assert await row_counts() == before
    reloaded = await Service.get(id=service.id)
    assert reloaded.env == [{"key": "NM", "secret": False, "value": "bridge"}]


async def test_start_deployment_refuses_stored_content_the_policy_now_refuses(db) -> None:
    plain = await server()
    service = await _create(plain, _service_yaml("privileged: false"))
    # Content stored before this policy (written directly: the API no longer takes it).
    await Service.filter(id=service.id).update(source={**service.source,
                                                       "composeContent": _service_yaml('privileged: "on"')})
    before = await row_counts()
    with pytest.raises(InvalidInput) as caught:
        await start_deployment(owner(), StartSpec(service_id=service.id))
    assert caught.value.errors[0].field == ["input", "serviceId"]
    assert "services.web.privileged" in caught.value.errors[0].message
    assert await row_counts() == before
    await Service.filter(id=service.id).update(source={**service.source, "composeContent": _laughs(9)})
    with pytest.raises(InvalidInput) as caught:
        await start_deployment(owner(), StartSpec(service_id=service.id))
    assert "expands to more than" in caught.value.errors[0].message


async def test_billion_laughs_is_refused_at_input(db) -> None:
    target, proj = await server(allow_privileged=True), await project()
    before = await row_counts()
    with pytest.raises(InvalidInput) as caught:
        await _create(target, _laughs(9), proj=proj)
    assert caught.value.errors[0].field == ["input", "source", "composeContent"]
    assert "expands to more than" in caught.value.errors[0].message
    assert await row_counts() == before


# ---------------------------------------------------------------- the documentation

def test_docs_list_the_allow_list_as_it_is() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "privilege.md").read_text(encoding="utf-8")
    begin, end = "<!-- allow-list: begin -->\n", "<!-- allow-list: end -->"
    listed = doc[doc.index(begin) + len(begin):doc.index(end)]
    assert listed.strip() == compose_allowlist.markdown().strip(), (
        "docs/privilege.md is out of date: paste compose_allowlist.markdown() between the markers")


def test_every_rule_says_what_it_checks() -> None:
    for table in compose_allowlist.TABLES.values():
        for key, rule in table.items():
            assert rule.treatment is compose_allowlist.Treatment.ALLOWED or rule.note, key
            assert (rule.check is not None) is (rule.treatment is compose_allowlist.Treatment.CHECKED), key
