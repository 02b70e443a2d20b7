from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "api_token" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(128) NOT NULL,
    "prefix" VARCHAR(32) NOT NULL,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "role" VARCHAR(16) NOT NULL,
    "scopes" JSONB NOT NULL,
    "project_ids" JSONB NOT NULL,
    "created_by" VARCHAR(255) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "expires_at" TIMESTAMPTZ,
    "last_used_at" TIMESTAMPTZ,
    "revoked_at" TIMESTAMPTZ
);
COMMENT ON COLUMN "api_token"."role" IS 'OWNER: OWNER\nADMIN: ADMIN\nOPERATOR: OPERATOR\nDEVELOPER: DEVELOPER\nVIEWER: VIEWER\nAGENT: AGENT';
CREATE TABLE IF NOT EXISTS "project" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(63) NOT NULL UNIQUE,
    "created_at" TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS "environment" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(63) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "project_id" BIGINT NOT NULL REFERENCES "project" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_environment_project_082b46" UNIQUE ("project_id", "name")
);
CREATE TABLE IF NOT EXISTS "server" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(63) NOT NULL UNIQUE,
    "docker_host" VARCHAR(512) NOT NULL,
    "tls_ca_cert_enc" TEXT,
    "tls_client_cert_enc" TEXT,
    "tls_client_key_enc" TEXT,
    "ssh_private_key_enc" TEXT,
    "ssh_known_hosts" TEXT,
    "max_concurrent_deployments" INT NOT NULL,
    "max_queued_deployments" INT NOT NULL,
    "allow_privileged" BOOL NOT NULL,
    "reachable" BOOL,
    "last_checked_at" TIMESTAMPTZ,
    "docker_version" VARCHAR(64),
    "created_at" TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS "service" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(63) NOT NULL,
    "source_type" VARCHAR(16) NOT NULL,
    "source" JSONB NOT NULL,
    "env" JSONB NOT NULL,
    "health_check" JSONB,
    "auto_rollback" BOOL NOT NULL,
    "last_deployment_number" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "environment_id" BIGINT NOT NULL REFERENCES "environment" ("id") ON DELETE CASCADE,
    "project_id" BIGINT NOT NULL REFERENCES "project" ("id") ON DELETE CASCADE,
    "server_id" BIGINT NOT NULL REFERENCES "server" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_service_environ_dd5ec9" UNIQUE ("environment_id", "name")
);
COMMENT ON COLUMN "service"."source_type" IS 'COMPOSE: COMPOSE\nDOCKERFILE: DOCKERFILE\nIMAGE: IMAGE';
CREATE TABLE IF NOT EXISTS "deployment" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "number" INT NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "conclusion" VARCHAR(16),
    "trigger" VARCHAR(16) NOT NULL,
    "actor" JSONB NOT NULL,
    "input" JSONB NOT NULL,
    "config_snapshot" JSONB NOT NULL,
    "declared_config" JSONB NOT NULL,
    "frozen_input" JSONB NOT NULL,
    "frozen_secrets_enc" TEXT,
    "error" JSONB,
    "reason" TEXT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "started_at" TIMESTAMPTZ,
    "concluded_at" TIMESTAMPTZ,
    "cancel_requested_at" TIMESTAMPTZ,
    "claimed_by" VARCHAR(128),
    "lease_expires_at" TIMESTAMPTZ,
    "attempt" INT NOT NULL,
    "last_log_seq" INT NOT NULL,
    "last_event_seq" INT NOT NULL,
    "environment_id" BIGINT NOT NULL REFERENCES "environment" ("id") ON DELETE CASCADE,
    "project_id" BIGINT NOT NULL REFERENCES "project" ("id") ON DELETE CASCADE,
    "rollback_of_id" BIGINT REFERENCES "deployment" ("id") ON DELETE SET NULL,
    "server_id" BIGINT NOT NULL REFERENCES "server" ("id") ON DELETE RESTRICT,
    "service_id" BIGINT NOT NULL REFERENCES "service" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_deployment_service_d007ce" UNIQUE ("service_id", "number")
);
CREATE INDEX IF NOT EXISTS "idx_deployment_service_bb5cb7" ON "deployment" ("service_id", "created_at");
CREATE INDEX IF NOT EXISTS "idx_deployment_server__8cfc52" ON "deployment" ("server_id", "status");
CREATE INDEX IF NOT EXISTS "idx_deployment_created_51b1fe" ON "deployment" ("created_at", "id");
CREATE INDEX IF NOT EXISTS "idx_deployment_status_64e6a9" ON "deployment" ("status", "id");
COMMENT ON COLUMN "deployment"."status" IS 'QUEUED: QUEUED\nPREPARE: PREPARE\nDEPLOY: DEPLOY\nFINALIZE: FINALIZE\nCOMPLETED: COMPLETED\nFAILED: FAILED';
COMMENT ON COLUMN "deployment"."conclusion" IS 'SUCCEEDED: SUCCEEDED\nFAILED: FAILED\nCANCELED: CANCELED\nSKIPPED: SKIPPED';
COMMENT ON COLUMN "deployment"."trigger" IS 'USER: USER\nWEBHOOK: WEBHOOK\nAPI: API\nAGENT: AGENT';
CREATE TABLE IF NOT EXISTS "deployment_event" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "seq" INT NOT NULL,
    "type" VARCHAR(24) NOT NULL,
    "at" TIMESTAMPTZ NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "conclusion" VARCHAR(16),
    "step" JSONB,
    "payload" JSONB NOT NULL,
    "deployment_id" BIGINT NOT NULL REFERENCES "deployment" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_deployment__deploym_d174da" UNIQUE ("deployment_id", "seq")
);
CREATE INDEX IF NOT EXISTS "idx_deployment__id_ed5b85" ON "deployment_event" ("id");
COMMENT ON COLUMN "deployment_event"."type" IS 'CREATED: CREATED\nSTATUS_CHANGED: STATUS_CHANGED\nSTEP_CHANGED: STEP_CHANGED\nCANCEL_REQUESTED: CANCEL_REQUESTED\nCONCLUDED: CONCLUDED';
COMMENT ON COLUMN "deployment_event"."status" IS 'QUEUED: QUEUED\nPREPARE: PREPARE\nDEPLOY: DEPLOY\nFINALIZE: FINALIZE\nCOMPLETED: COMPLETED\nFAILED: FAILED';
COMMENT ON COLUMN "deployment_event"."conclusion" IS 'SUCCEEDED: SUCCEEDED\nFAILED: FAILED\nCANCELED: CANCELED\nSKIPPED: SKIPPED';
CREATE TABLE IF NOT EXISTS "deployment_step" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "kind" VARCHAR(16) NOT NULL,
    "position" SMALLINT NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "started_at" TIMESTAMPTZ,
    "completed_at" TIMESTAMPTZ,
    "detail" TEXT,
    "deployment_id" BIGINT NOT NULL REFERENCES "deployment" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_deployment__deploym_8678c7" UNIQUE ("deployment_id", "kind")
);
COMMENT ON COLUMN "deployment_step"."kind" IS 'CLONE: CLONE\nBUILD: BUILD\nPULL: PULL\nVOLUME: VOLUME\nSTART: START\nHEALTH: HEALTH\nFINALIZE: FINALIZE';
COMMENT ON COLUMN "deployment_step"."status" IS 'PENDING: PENDING\nRUNNING: RUNNING\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED\nSKIPPED: SKIPPED\nCANCELED: CANCELED';
CREATE TABLE IF NOT EXISTS "idempotency_key" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "subject" VARCHAR(255) NOT NULL,
    "mutation" VARCHAR(64) NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "request_hash" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "deployment_id" BIGINT NOT NULL REFERENCES "deployment" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_idempotency_subject_2f5926" UNIQUE ("subject", "mutation", "key")
);
COMMENT ON TABLE "idempotency_key" IS 'One row per (subject, mutation, key): the unique constraint is what makes retries safe.';
CREATE TABLE IF NOT EXISTS "log_line" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "seq" INT NOT NULL,
    "timestamp" TIMESTAMPTZ NOT NULL,
    "stream" VARCHAR(8) NOT NULL,
    "step" VARCHAR(16),
    "text" TEXT NOT NULL,
    "deployment_id" BIGINT NOT NULL REFERENCES "deployment" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_log_line_deploym_3d1da4" UNIQUE ("deployment_id", "seq")
);
COMMENT ON COLUMN "log_line"."stream" IS 'STDOUT: STDOUT\nSTDERR: STDERR\nSYSTEM: SYSTEM';
COMMENT ON COLUMN "log_line"."step" IS 'CLONE: CLONE\nBUILD: BUILD\nPULL: PULL\nVOLUME: VOLUME\nSTART: START\nHEALTH: HEALTH\nFINALIZE: FINALIZE';
CREATE TABLE IF NOT EXISTS "observation" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "observed_at" TIMESTAMPTZ NOT NULL,
    "drift" VARCHAR(16) NOT NULL,
    "containers" JSONB NOT NULL,
    "differences" JSONB NOT NULL,
    "compared_with_id" BIGINT REFERENCES "deployment" ("id") ON DELETE SET NULL,
    "service_id" BIGINT NOT NULL REFERENCES "service" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_observation_service_529d0c" ON "observation" ("service_id", "observed_at");
COMMENT ON COLUMN "observation"."drift" IS 'IN_SYNC: IN_SYNC\nDRIFTED: DRIFTED\nMISSING: MISSING\nUNKNOWN: UNKNOWN';
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXW1zmzoW/isMn9qZbCdx0rQ3s7Mzjk1abx071y/tba/vMDKWbTZYuICTZrv97ysJMG"
    "+CAMaOzNUXg4WOEM+DxDlHOtJPeWXOoGG/aa71kXkPkXwl/ZQRWEF8krh2IslgvQ6ukAQH"
    "TA2aGax11dlmm9qOBTQHX5gDw4Y4aQZtzdLXjm6Sm6CNYZBEU8MZdbQIkjZI/76BuKgFdJ"
    "bQwhf+/Asn62gGf0Db/7u+V+c6NGaR+uozcm+arjpPa5p2rS86yLmheckNp6pmGpsVCvKv"
    "n5ylibYCOnJI6gIiaAEHkjs41oY8Aamg97T+Q7mVDbK4tQzJzOAcbAwn9MRTNUiTVbXXH6"
    "lDZaSqcgGMNBMRfHFVbQrAglThH781Gufn7xqn55fv3168e/f2/el7nJfWN3np3S+3MgFa"
    "blEUs86HTm9EKmRiEl16ScIvKgMc4EpRMgL06TGBf2sJLDb6fv4Y/vjB4vj7aGcR4CcEDA"
    "Qv3iEoWIEfqgHRwlniv2eN9xnwfm4OWh+bg1c41+soyD3vUsO9RvAO8F1bcK7/KIJwIFFD"
    "jM8bOSA+b6QiTC5FAaa9l7oE9rIIyFGpaoB+2d4kAvPlRQ6YLy9SYSaXojBbppHSTyhos6"
    "Igd3CFANJgAmxfluf3We5/6SmDK4keJqjZvu30riR6mKD+nTJojvrksnc2QW3ls9Ilf6+k"
    "7ekEfe4oX0iSe8TlfFB6I1wOOchl+qTLPF3SZXqPdBkn0tZMUkaCyn8P+z12WwkkYgTOdM"
    "2R/icZup34+FZFpPzP+QZphCNputENR0f2G3K/f8l7akcZcBOESMkr2/5uhGF+ddv8I85A"
    "q9u/ppCZtrOwaCm0gOvE98H8D9QcVZ8V4iQmJoipnBjNggQydfpU5LsSleK5wyv5ZWm8fZ"
    "ujR8K5Urskeo2NNXCSWLfxFUdfwWy8Xcl4M/BE3/gnx4g+fsBZHxlPnj6RAf6oc6sMR83b"
    "u0hbaDdHCrnSoKlPsdRX8U/HthDpS2f0USJ/pW/9nhJvMtt8o28yqRPYOKaKzEcVzEKqj5"
    "/qoxZhHf5Y67i0EqxHJStg3asuL6QfCck+JpksG8B21I1dqnXHZQXTPDNtwQdsVZXhOSop"
    "WOaNZeK7m9+H/EckYQq0+0dgzdTEFbNhpuVNXlo1VvEUgMCCkkTQJPX0XJptuDbMpxVEjs"
    "xweIaunmS5PGfRfJX6PP+UbWg96K4NjO3iKU7+K+YI/SkHj+tnV12nZkibIUL4M4eJs3E9"
    "tth4z+zVwG8iMs2Mn4P+oY0ydg9oebfAJrqzsassPqqC4btUWXW3truXK7zPfHqf3SaSYC"
    "AV/kDgeQqOQbt3WWicXby7eH9+ebEFf5uShbmPb8i5s20vZfx0gfThDFf597EyVtoFvQae"
    "1JXkHifobqDcNQfKleSdEP/cXbf/lTjnyHGCbjq9ZrfzDWfxzyao1b+96yojUtD2FOdsdr"
    "okyT3y4bXDt9OMDen3ypIbLaEUwYfRquThuNVSlDahYHsaZwVz1+y1FJrin03Q8FPn7o7K"
    "uSd8cIfvvliwerl8xIXEefYnyeMhcXyT3wn6olx/7Pc/XUneyQQ17zpXEv7h0SWO1T+TQU"
    "+693UrcHi/68tYKXvxsOpovWGYiumwbwUE7Ls4tk001xeqjcDaXpqFCGCICip2oGIGNQNY"
    "2HZygS1CBUNUULEDFXPL/C9EauE+KS4nSNidBBtqFnRsFSItScUIW/WZVMSkOdZ0K/EfKn"
    "+MsnnYug+7/d4HP3ucnCgP0LKKKURbgZ1e/+NBfS9vvwWBzbLv0t/4QEK85cXfcjHqXIqK"
    "YxiwiPnErHI0RyXFsBTPLLvurVm55hyTFUxzzTTxkhmqBTGydsn+m12E4J1r3g2AOSg8IS"
    "8iVQc16QBBCwbWK6Fafn4WS140Lp4bF3AcuFoziE4diQ1JHG4o9nRfbaricVg6cc0wF6oN"
    "vxfANC4mgGUCCx8gcspAGxEU4MbBhehBt0xEpkapRefFJGXrNEHjINNkWEEhxUiIygkCSh"
    "NgmYZB5iyq5rwwCUnZUkRwpuy8DA+RqYv5KYiIiWawE/zB7NRi+AdygoBCBCQmWyf4SJJx"
    "Y1pQX6BP8CkxlyiGvjdZehiUdGRE/PJfNj816Cst8Lid4Rt7BzEC+Lmh43oLmsNWs63IrG"
    "9uBdjeBSXVFNuonvE8tiHlsAJ8lWhpNcU4qVA/j7P73auoe4AcTS7cS++w1RAiwA6U4WjQ"
    "aY3kNIWwAnijoSrHpQjmRTipBkdgxtWQeuNu1w3NYMcSJeFnTG2/9kRvPg2gARz2/OYa4x"
    "7taImDozKQlId6dbGxYWG4rgypIS6srkDpM7hamw5E2pN6D592xKwTlIb7y7piRny4ho5Y"
    "66wUAatrLrq4lLqiZE7JZ5hisCNQ/aCkGvXsh4mldXv5zIDa7YcgT1St62WnuSuOrY1G7h"
    "I3fmZsrQgZPVYXyImUHjJabNjn4GM9+8e/suEeikYCypxBaZ4s1xFprYHSdIM73ZMJGo6a"
    "o/FQbX1s9j7QOMHIf3JduQtfDf75AYfqQPl9jE3EIPAwSCEBpb1Wd9x2A0q9UzkfudFVlv"
    "Ks39dIX7+vkVi/r/gkDjG59QjmbRxfwHeJdiyCvUWw97EEe9ueJyBv5IyfXwTO7LCGJngy"
    "TMDQyjPWzwxE+Fg7k9y2NmtnhozBosZSQrROqvvLjh5HzedDDmHwRkfeMYzEy8gegnvp1d"
    "Co9znTgeP7p3P5b/xP0n7dN/eY+4T/RvhcuPS5UK5KqqK+LNcWBv6w9bCxQA8TdD3udLFe"
    "SQ/Y2hh3u9jUwL8T9LnfHd/ijO6R+hMGI+pGGIwm6KPS7I4+XknukWWF8KGj4s+37jCti+"
    "EKGEb69NKQXJ0+y+eNd5fb9kT+ZLWg4W2z263Fymt3Sq/d6X0oqHT6YrhJuCcTNBj3ejTF"
    "O8HtIpdVF7fgWHYeHy1GxBD/HZxpmrlaE+WuXAxxVFYwzTPTM+gA3UhynL7URiDBsTetEi"
    "73sdSGcAgIhwDPdNTCIRCeF83wBsSmTae7AmKztat2A4Qm2tMaCh8AN33FSYYPQGwUGeyu"
    "d57Dvrg8T99d71xsgJQf+vpugCTCfPnSh0QIWLUhYHkiOwKN6pCxHceCOisad0ec6hf5ud"
    "d50rF4BYZenYxoSFetY7EUudRruY+gZJmP0hpa0it7MyXt7kRabRzK9ImEC3qNkVhCyWVK"
    "ChCSdFt6XAJHWoF7aEsWxAjjow3m8E3cs7qv+0zQBPeca0cCa2A50twyV7SQoOVLtikBJL"
    "nrRc3IfaRXjQtp+VrScPIU1wqSTeCkRx2/0BtHcsyNtsSVniBSjr4iVcQA42yaac3og7H3"
    "ZnKfieoB3lPRkUhMhDBCuPlAZxkhIQbz2iEhkRqaInvZjjXcOPLCHJapIc7Vb6judf958f"
    "Wy1xDavbzC3tKe6hLYyyIwx+VqiHf1r7LwXjyns/Lurcg5aCYGcfhzWohBnFoN4vgh3wxD"
    "MxQNnm5h+pHn+xi5eT7+VphNfJpNIma2qphZrIbgTnTFiPHJ1nQigkLR4VrRwc8FwYptNu"
    "SZy+lL82w8yMNRuz+mc5fJkUxlbiuDAf2Pj/j/1+FIucX/6THuLMxjaORZmD59WfrEovTs"
    "yLq8nDCj7Hiau/U3m4PuwB8MhTV9/p2fn+c2JabfHQsBwnLjio5aWG7hNagY1ltsiap0C8"
    "6MZazUiMtaLym2Yi6thuubE8soHWXfc5JhEobpLWjKxESFMcO1MTOz9HnKgOnzevNWmGe1"
    "C7/t6vBrr3UleScT1B50buhKL97JBN12hkMao+adTNC496nX/9K7krwTPvRifDsH3wxajG"
    "k+mRuzh6T4WNGC3K8+K1ro8zm0IGJOv8rYpT0qJoipnBgSdwcs/DEik4MKWzcsabFbSzEd"
    "Q2wXwquBKbYL2d92IZGe49D2O2e9TV6MWb1t4U0B9mnC+9P2GeZ7aEZ/uukeCiDYq9kubG"
    "oubeqXDZF7WQJEgJwIkKskQC6hz4gookqjiELR3TtiVc99uETI1UuHXHmbjzGUsGBbsnQd"
    "LNgDTahgQgUTKlhlKhiuwT201KVpF4q/ionxPJBQEuq3Z40cWONcqWDTa7H5MYatakDVoO"
    "WoEGlJxDOmyiRFOZ73xO2kGQqjoZPJBqVZSIoLJnZi4h4+7UBESFrwUJwH216qa0t/wACV"
    "ISJFXDBRjol7bDUj+l1lmCfZLMREBQPFGSAaANllZWNZpGfJdECk6v7ZhRxuIOxsvzZBZd"
    "EXBC/8VBs42wFwdgGHA7txeiRoA8MwH2mPrRuQWOoJnK9N04AAsbFmicdQnmL5fcG8TTls"
    "Z3Pd73cjnc11J96bjG+vlcGrM9rz4Ey6A9n4WxBoSwpBMeAjcuUQP57OvUK8DWBjXX0Jsb"
    "1aZqCBIS4WgeZ6ZqTrmXiAVvpWa5k+jZBkHVQosUyEGMMr1szEGJ4YluIKpH0PSxG4Usal"
    "PCSzB6b8TBUvzBBbsVssqy0GrI6iHe97yMo2N5YGXZCYGOeIHI8WwTPsMtnWuD9U3P2N8c"
    "kEtfutT8rgptPFicH5BHVumx9wEj3IJajaww5LFOckSxk7524l+AirqNUOrviLUoQLLzsf"
    "RNQqvmUJgeEsXb9CEUbicmJ/6fIcUPvGMg2DKJJFvaBx2QO6QH1t6rg9cqGgf/y1nrpzu3"
    "L6+9MLOJy//1jc/cI9kw51vdwzYdY361lJ1qOSgnVeWGf4vrMmgReO1kzKiojN0iGzYgsg"
    "DmKWoVUqZHkrJuCvKmJZ7MBU7Q5MKX1+BfjWM/gnjnHyW/c8zkEAyo4QB9EuNUU30olGgB"
    "1gBWfQaY3EHmIVjxyGFpfbEavYenZ1AWufI4hNaOnaUmYMIHpXTrLGD0GQh5vAtr/LIOGO"
    "Tpb04b8Sk492nXXEW1M8wG5ApFEVQNjLXkN0z05P8wzcnZ6mj9yRa8kl65hKZfZ6dZ7I4c"
    "eMjnxkosDkquo/Zr/+Dx9T1ws="
)
