from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "audit_event" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "at" TIMESTAMPTZ NOT NULL,
    "action" VARCHAR(64) NOT NULL,
    "actor" JSONB,
    "actor_subject" VARCHAR(255),
    "outcome" VARCHAR(8) NOT NULL,
    "target_type" VARCHAR(64),
    "target_pk" BIGINT,
    "target_label" VARCHAR(255),
    "project_id" BIGINT,
    "request_id" VARCHAR(64),
    "remote_address" VARCHAR(64),
    "details" JSONB NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_audit_event_at_b52168" ON "audit_event" ("at", "id");
CREATE INDEX IF NOT EXISTS "idx_audit_event_action_48d514" ON "audit_event" ("action", "at");
CREATE INDEX IF NOT EXISTS "idx_audit_event_actor_s_d4bfcc" ON "audit_event" ("actor_subject", "at");
CREATE INDEX IF NOT EXISTS "idx_audit_event_target__9c6748" ON "audit_event" ("target_type", "target_pk");
CREATE INDEX IF NOT EXISTS "idx_audit_event_project_19fc14" ON "audit_event" ("project_id", "at");
COMMENT ON COLUMN "audit_event"."outcome" IS 'OK: OK\nREFUSED: REFUSED\nFAILED: FAILED';
-- Append-only: no UPDATE ever, and DELETE only in a transaction that set
-- berth.audit_prune (the retention pruner, berth.domain.audit_retention).
CREATE OR REPLACE FUNCTION "berth_audit_append_only"() RETURNS trigger AS $audit$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('berth.audit_prune', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$audit$ LANGUAGE plpgsql;
CREATE TRIGGER "audit_event_append_only" BEFORE UPDATE OR DELETE ON "audit_event"
    FOR EACH ROW EXECUTE FUNCTION "berth_audit_append_only"();
CREATE TRIGGER "audit_event_no_truncate" BEFORE TRUNCATE ON "audit_event"
    FOR EACH STATEMENT EXECUTE FUNCTION "berth_audit_append_only"();"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "audit_event";
DROP FUNCTION IF EXISTS "berth_audit_append_only"();"""


MODELS_STATE = (
    "eJztXVlz2zi2/issvtx0lW7KsRMn4+nqKllmEk1kyaMlme7WFIuSIItjClRziePbt//7AC"
    "ApbgBFUJQM0XgRKRIHJL+D5Ww4+FNd2wtgua/bG3NsPwCoXil/qtBYA3SSu9dSVGOzie/g"
    "C54xs0hhY2Pq3rbYzPUcY+6hG0vDcgG6tADu3DE3nmnjh0DfsvBFe44KmvA+vuRD8w8foK"
    "rugbcCDrrx+7/RZRMuwA/gRn83D/rSBNYi9b7mAj+bXNe9pw25dm3ed6H3kZTFD5zpc9vy"
    "1zAuv3nyVjbcEpjQw1fvAQSO4QH8BM/x8RfgFwy/Nvqo4GXjIsFbJmgWYGn4lpf44pkeX1"
    "N1vT8Y6yNtrOsqB0ZzG2J80au6BIB7/Ar/+7fz84uL9+dnF5cf3r19//7dh7MPqCx53/yt"
    "938FLxOjFVRFMOt+6vbH+IVsxMSAvfjCX4TG8IyAijAjRp8cc/h3VoZDRz8qn8EffVgW/w"
    "jtIgZEF2IOxA3vGCxYGz90C8B7b4X+vjn/UADv1/aw87k9fIVK/ZQGuR/eOg/uYbxjfDcO"
    "WJo/eBCOKRqI8cV5CYgvzpkI41tpgMnopa8Md8UDcpqqHqCfdzRJwXz5tgTMl2+ZMONbaZ"
    "gd22KMExr01wTkLnohA85BDuyIVuT2rA6+9bXhlUIOU9i+ue32rxRymMLBnTZsjwf4dng2"
    "hTfaV62H/14p29Mp/NrVvuFLwRHV80nrj1E9+KBWGZMuywxJl+wR6TLLSHdu4zpyrPzHaN"
    "Cn95WYIsPAhTn3lP9XLNPNTb51MVL9eenDOeaRMvNNyzOh+xo/7xf1QP2oAG6MEK557bp/"
    "WEmYX922/5XlQKc3uCaQ2a5375BaSAXXufnB/g+Ye7q54OJJhkwypnbGzB2AIdNnTzzzSp"
    "pK5AGv4sxy/u5diREJlWIOSeQeHWvDy2N9g+545hoU4x1QZrtBSPo6OjlF9NEHLgbQegrl"
    "iQLwx91bbTRu396l+sJNe6zhO+fk6lPm6qvs1LGtRPnWHX9W8F/lt0Ffy3aZbbnxbyp+J8"
    "P3bB3aj7qxSIg+0dUItRTXwY+NiWqrwPU0ZQ1cD19XFKafCJMjTAq5bBmup/tupd6dpZWc"
    "FpnTDviOtKoqfE5TSi6LxmVsu1s+JOxH+MLMmD88Gs5Cz92xz21W2fyt9fk6e8WAxj1hEk"
    "YTv2dk0vQXpqd9B9BTaQbP+G6r0OSJy+lgW/CQRs8/1fjT1KB1mwsVF0JTGGKKix6x/e7w"
    "e8LKo+avksLoFckf0uGSdRIRnHyHV3O9tqO7/gxrGfVX7xkOwizo4oQ35O/moc5nxCpSDe"
    "8vrddCWq/5p5rGKgqnPsckJYl4VCurd8cUDdS567fmkuGdx960JdjL0nQ6YtlBTEq5SZWj"
    "dacJKzVywdA/gl3J9r25zfJv7vZbJMhFHlXUwZcrZfBlCofax8lIu7lSwpMp/Nju9vCF4F"
    "jFAVHGJcp2iObcoRnBr7S7Lk3WvOZf/xAfy9Rc8mmKbLeYegI4H1FQzaGPMAFWhYa+pWte"
    "Sz/IQJ/W9cq39jSdbO5Vm7sD0Me7dPzZjT1N1bymfoAoDLC2PYBVKWzF4MM6Synx3o33An"
    "iGaXF55hMkx/fKn7iyJIiduWOv16Y38gzPDz4yY2lO3W8V2ZrnpKTuxkV3WZvVge/N7B+K"
    "vVQCYiUgBm5LeXRMzwNQMaHirQDqiwZ0A8MHLo4vzVcGvAcKonLAxnY893VW5j9E/Zx2cB"
    "dAL3T1GDMDLmy4df1A8APf8sB6Q4pIk+2JigZsk23UJVYGz/SVphJZGxdm7sL9urLpY0ss"
    "MtTqnda/6fY/XSkbABcI6ykcTTodbTS6Ulx/PkejRmACmQw1/ETT8h0whdpwiEM5geMEJs"
    "1nNokkv4mjR2TIROZT1Xj8t2dlgl/fnrGjX/E9qmLuO1XU8pCqiVifnZcZgHAxNtrkpozs"
    "e4kOu0BkoyhKTKkqSVLJ8FKJn2eHla3O37x9//bDxeXbrUi1vVIkSeUNKllBmLPzUMhlDx"
    "K6ByWUIh5GJ8hk2JzI/M1qulwxKxlayWmROU2ClrfKRZrPYzQuF4Q6b6maYJst4qn2r3Gx"
    "wXDL0t6g/ykqnrUiZvWojWU/rfGAyGvhyZEeTyBpiL0nZsPKth+4GZAgktBzQZ8zmac5kW"
    "fDR9sB5j38Ap5yFqAM9KG1+5PpfQ5rOjEu/BU1s+hqPEg6xuPWMpxsfejz0UcDL7AHtEed"
    "9o2mMoaZGrC9SVXWUHhzoysd5Ofx9SQ4QPH0pPnD9vOkG0W9Swqww8T5bgbNCPrrGbr872"
    "L/Cikegp2wo9QYXI+fAZzwEaF7q8bq08afepdMxM64PeuVDiYhHUxhF8lxgAl/TNAk2aM2"
    "U1TcX6o6kvzq8SaVwFX/OdEmYbgrhzcpoLpSguMU3g21uzb2HIUnOOfHXW/wK074gY9T+L"
    "Hbb/e6v6Ei0dkUdga3dz1tjCvantYRiFt/JhD0uLnlu0y/027mpmsQWGlViV9Qu8Es2J5m"
    "uYJ41+53NHIlOpvC0Zfu3R2hC07E4B16+v09bZQrx7gEucjOLHUywsl08O8UftOuPw9wqH"
    "t4MoXtu+6Vgn5ETLPzTCtsRJuMjr3ExoQbn6KYsWHfEkjY90mWY8Olea+70Ni4K5uLARRS"
    "yYo9WLEAc8twkO4UAMvDCgqpZMUerFg69v8BqHOPSVk6yYT9meCCuQM8VwdwzuOWoVMLLO"
    "kK655heMTYvYDlDJNLjjlavwMMl6bfsVt8TCFbOX8rn2N1y9L5Yc8RSvQroC+jDV9ChIXr"
    "GU41NqcpZRyNyFwOjIuLat05Qys5LTSno7mPLAeuxnB6FZLvQvPdMhAPuFMsp6iaICYdYR"
    "sKC8mVQK+ecZdGLzuXyJ0rjP7PM3rXigwKa+WCjCA+17LvdRf8wYFplkwCSwWWZGOtAm2K"
    "UIKbBRfA76Zjw0pB0XnaJoXHHDkqeuOA7yZ4rJCgKEknExRVx//ZEkTJDoCvOLZl4Yhd3V"
    "5yMyFPKztCVT6kAnfLsyBFJrvBXvDHsdl8+Md0kgF1rZFJhNbvuZRjFNd0Yowou44j3QZ3"
    "r5QJ584asL2La2ootmk5Yze2CeG8Bny1dG0NxTiv0OzGOZj3ahoegEChtQcZHbYSQgrYoT"
    "YaD7udscoSCGuAl2shnWCCYFmE82JwCmb0Gkp/0utlB2GiQNYyCJOa+MaKE4U6rXYzWjN7"
    "wWI+212YY5Ei9IUVfPwyBJbByObFyDvZkJGEOizsCVUTx4O0AIANn7WBtN02q4lNyvXApj"
    "akRqiypgJlLsB6Y3sAzp/0B/C0J2bduDY0yTQVM+zbsUy479Des+97qJamogRtz1yacwIC"
    "nktNJCqa+2LWT1R6E9RZppmd4mhvz7B4Tb50T9AGcU0NxeoRzEhCj7qa2begvga2sOPk1W"
    "Bu2EkRP8pk2DjU1p2/Z7J4YKdyYZ4NmT7iVA3CmIaVPoIvCOHokQeHx7+24AOCRg7KkgvU"
    "Q1qhV6d3hlo7SPQQnEzhaNweT0Z653O7/4nkDEj9x/e1u+Td+F+UfEAfav+caKNxnIQgvo"
    "KTS/Q7vclNkFwiPFXLMTe9CVOZZM8FqZ7ziZ7lTqyNjCI8veQvFfqxTPwiE7+cSuIXN7Q/"
    "lV1FG5WXi2irL6LdGE+WbVCkcjbsCZLjr95Xf176MNi3aeablmdC9zV+7C9qQxgiU/2KGE"
    "sjM6M2NDMq8XkUGnAir0gp+000JR3WfPOAeJ+z30ibi5A2F8KriqJoRCu0hoEmtj5SFshh"
    "Cq8n3R6SK8kBaRuTXg+pGuh3Cr8OepNbVDA4EnvCcEzMCMPxFH7W2r3x5yslONK0EDFkVD"
    "R9m/TtzEZrw7LYwfYJuiZNyxfn7y+3/Qn/KepBo9t2r9eILKzh7nycQme8qV94MoXDSb9P"
    "roQn4TZ/O7W6rAZH0/PE6DEyo8VLMKbN7fUGC3fVMlqkaSWnReZ0sAl4nsfs/E8xhcDWtF"
    "p4Kff+aZRcLw0CL8UgkIz8plgDMoHhbFNAZu1K3WaAxLIj8obSBiDMWNEqsAGQYw5/dhqg"
    "qLzIen95FqT3gr8ooV9cXrD3gr+Q2zCXhx594GIArSd1G0t4CmJoOEAUSqEy6YFY8pBcEF"
    "vvgtgyC7BiieqYK4pOBXVaboI9cWreOviDxklHu2tSBOrExptsYfre9PRoo896JWkpNosy"
    "pRSJzWic/G4uqu8ElaQXWZRWPyFpaXJ9pQTHKUTHXjv4j47kv9Ymf7V2FaN+maSb7JSbuY"
    "SbDiDeLNvhym2aphKZHxVVm/N378pEHr97xw49xvfSWM8c1LRXPDjHFE2wth4B4nBBPE02"
    "sG0LGJClScRkGaRniO5QzXl75bim7evBoJdSDa+7Wdv15PZaG756Q6BHhUwvNcwnwuktC6"
    "l6S9t50CtCz6hBcoGDC8G2P7x7BqWpGjGIH9ufE8Qr6MbG1H2H4kdjj+x5yuaN8O/enJcY"
    "4VEp5ghP7lEh9+wHALlbPIW2CbAfu9lLM20lVghkli23qEomgRTKLiuTQNabBFImxjqAdf"
    "b50lmcDFyHtNNmshlRzLX5fEdsq20m01Ip4606gEBx7EdlAxzllevPsH+kpax9j3C8paCK"
    "fkJIrIAScEqJEVJMV3lcGZ6yNh6AqyD1BDckxTWW4HXWWHao50zhFI2kG08xNobjKUvHXp"
    "NKYg+N4tqKAZVgl5kFfo7y6vytsvpJmaPLM/RWAI0VC+XRRA3b9xTP9ucr9NJTiOsx1/gV"
    "EcCo2Nx2FuTDqBEi4TcRwSD8KnyOGSGDRYSZsFsFVu8EB0srhjFJI1TyIxj9kp2jLMxJmg"
    "bifFkmccYlO3HGZS5xRjj8l8U3LN5AaA/ShMMNAfWV4XI5CLJ0DcS7/qYszRe7ZNZGmC9k"
    "sL2IRgwZbN+oYHvCIytU5mnaZvJ+q1DXzJYUJkqoeDVwwzSm6ouA2WqQT0OVLdT4VEgryj"
    "LPi2lKkrko4w67YHvDLnLOMCnJsKFvVrx8bkZ9nuE+yv9NGekTqcHZg3yUhrz+Ab5MWlxp"
    "JRPTSiZT2daVyhaN1UiKWlNS7xVPBynCBs4GJzL6l3PLe2hqW9MFqjIpViJqkW1F6mh8M5"
    "iQlEL4iDMM3WjDIfmPjuj/r6Oxdov+k2PWN/QMgdT0hJdleUJNfilSLNILSw3lgR8UkZod"
    "WRaVF7lPCRtOJg110lAnMjsaYahL7kKEZiUIgaVStDhasVaRRpfaMmmeoJDpMqRuJ9NlJK"
    "WUs7MyYsrZGVtOwfcybvmmpyT9pl1/Hgy+XCnhCZIoe+0O+k8OU3jTHXUGQySLhicCqAK+"
    "Y/GuTEiQiMwNYUXIZ1sB9cJXgrC2d2XvOBBTHH/DgecB/iBbC0jPT6U+cGq2PpkaSSylWK"
    "ZGeo7USM+6D++pwH/QZSVU7HaYD5IYl7QfLJIkuxea+N7M/nGl2BAoRKxQlrZD/oV2iJby"
    "6JieB6BiQrKGA1UIXSPYcshekku46D1QTE9BJLaP+qxLWWpyyCftjlZKbeca58iHSLBF07"
    "gH1ht83GuXVzzpJB4SflbYd9Mig9xP9lQntlaBoWa7W3FZS82WoBEK66FjzqORjSrJsUHO"
    "kDUvJK6M5+6C7bm7yG/qcmKb4DVIJ33Je7/caL3uV22It2zZntayq2o5m3GByTi/AzIRGC"
    "h8Ys60SZLj6ZJnh51vawu6yophOVyL7TEUcmmUEdoog6raoK8DOmvAY3YkCmWl/iSY1bnu"
    "HmUZrqcDx7Ep6ULZ1vw0lbTmy7xOcvyijl+hUlGJ0Vlaub+XyJxOm3HKm1bSdNJ9wGllES"
    "i0UbDOJYQTJxGltqcThxEtd2Jdo6xDJz0q0B069MZfA9RcEaSCtfp6AkjRWyj9Sa/3XBGk"
    "gxlOqsdc6Z283Sry+NiZgodc5532nKRzApLXCAQZ6c84yTG+VeDPSLKXU8bNkEptRmgZd+"
    "GYS4bjarfReUssshMLtXZ99Gu/c6WEJ1N4M+x+HBNjc3Ayhbfd0YiYpMOTKZz0v/QH3/pX"
    "SnhSyfxc+8oq9DgPPQw4XFGDaarje2nUn5c+DLz5M9+0PBO6r/HzfuH0HAjru1mYyyVS6y"
    "F1Xy02XzJkkjG1MwZvqG5gewvOJsqvyFOopR5ZVZuXCdHFUuRlQvR6E6Izxx2pv5czkFBG"
    "W6FU+Ltgh6UdO6RTSrWKFPpw3yadd8N0dbwCSkiMgyRxPOUGvbASZjX9OzqxN6ilLFKX3S"
    "C/No6pNB2cATwfr1lnxfTU3PF4gWvQwxpyq1IZkZv+ZhG5y6Tp4SRnpVaB6SHVInJ8YK/Z"
    "yJA1SU6oMcORZ1Em/ILMHBGBDAjgDwhYAWOBmuSSbl6hA56kEdmqUjFi9SDpvwlm7srgxj"
    "mkaSDO9YdgzwwX8DbmJE0DQT5IYzZ8hBNjo2dGfOmWogmD9BEgxtulUiS8on1WIxK5sSrP"
    "xqqnF9He7oy7XzVO62dIdaUExylEssAIuxeCI/6vtfvBBXJSxZdQc5YNGaxYSUw8NfdeQl"
    "XmZHOaUrJZaDbPLdut1pmThDIaVWweI+mkIpOTlJLLInNZOsmkk0w0RtTpJCuXsiRydu2Z"
    "s6SJXrODJiqJ0upQ3VrbjDtFvqy4kDAbEEnXzbFcN8+brlSgxAyXF2XMrxds8+uF1NfLQ/"
    "9i9yp67ilTtJbAnDNTSTfjOIs9scqEeDQRLFp+8hoTyTVv1Vcm1cG9iW4/6WgMXqBWYhr7"
    "gjcMa+xsK2wqdqEysSdezVO6Dir/U5oXRRWgN0K2VkDpBqU0BLWthArF/7hKogtt0wdGFb"
    "cU3wULZfaE0ws6T0FYmgEXJKh9gWPYTM9VohaVD3g74HN27cYQVS13ZDgNFWfLLw41J0kj"
    "wyDK+ehRR3N41ckkjcS5HM4bw3UfbTRvcCb/z9I1Am+ZMUgYVjRMqc/l5/Kr+WuztNKZJ7"
    "IzT+4/IJYzT+4/cKz9Bw6ppGKdnmhSOcU0vNMqUkbduIz0UL049U16qA7moUJv8AAcfWXT"
    "lm0V5GhPkzVCj0hD/e7NeQmsUSkm2OReZiWX5epzQ58Dh3vfNgppExYOHFt5IzBaJk43Vp"
    "kLeXLJib048QCe9mBEglryocI2ku5K3zjmdwRQFUYwyCUnqnHiAWmlkMyrFB9aMRcypJID"
    "/BzAEgB6hbnvOHhkKYzPYMr+xZUczy7w5rA6QW3L2zFe6Kt8sNgDcHoFxwP7/FR27jAsy3"
    "4kI7ZpAayp53AuXFJJI5fLKzmWVzrAmK8IBHzAp+iqIX46g3uNeBPb+3wFkL5a2XSfJpfW"
    "e5Gt96Fl4jtw3DDGiNOmkaBsggh16AwTG8f+8aTj9JOAC+0sncS6LNasBfoFm/1l6PZKWS"
    "oY5gUYy03opfe/xLQiQ/plrLBQIB3aDYvhYvhhQySLHbFRoVo9sb+rmVSa5O1kfK100Ire"
    "jw/tonVt35mDACQqxiWyMqWrEBl2tTO4vRuMtCslPJnCm0Hnizb82O2hi/H5FHZv25/QJX"
    "JQK7Cq/o0eApx5RPOYQox9BPBjG7OPAJpReHgRFheDEY3a0GEFDMtbBXY0Ho5k6aTiWp0H"
    "6BYZa7gsBykiiX519O9NT8cpP3nAT9JI7Pdo+bbvcU3KWwKJenXUiT3FsS0LK66czq4c7R"
    "FdjJH2dtoer8S2mkg7mAFKbmKmbsyu4Hj+9FNxp0tzMBvqZpmDZYLWJnOd4lvOGayDtTRV"
    "uJ6mlAEE4jA537cTZmjuJYB5WrkMkNPILNdhCsOAYNFdpaS2WzIJv1wGW/s8U8syWMaYXw"
    "O+zcwwl8U4P9ftxjlexrsnxPGa4YaimxpEU8AOkYQz7HbGImdlPhXUcybalW0/7AnUJ9P7"
    "jGppKkr2DDdNgsGeQA3impoKVrgf655A0fembQpeh4x2+gZmuEffAMvEqf9UStRTtkirKP"
    "rpMSiMR+O49M6EiAOSjJDscaoYOGnhd3MBHMVFjGwpjyvEQ1SXMgNz9GZBOsK/KxA84uJL"
    "00G/JsT78yoWWNwDJ58I8QD1UwO0VuGwtgALf0NWexbv/UugCmYwB8wBQiyygKCLmFDuAX"
    "xyCkpLYUeBRb2CqjEWrLtIkzVvIcBBUgAmOiEX1kkqCXUpqNHwSdML2ShvCUQOtBNmVUtm"
    "buCxq2dIG+hOaZJl3fa9uc0KFN4dxJogF7lfqTfaXW/wK944NDqbwruh9rWrfdPje9krcZ"
    "loH9L0/ykcfene3eEb4ckU3kzuet0OYi16VHQ6hUPtH1pnjAtGZ1mJ8XmCYx1guLQVmeys"
    "FjFFE2aqYyezQJ1lbXq8W6ynqZqA+8FXZRpPlm1QRN6CBZkxiQwx2yekdas72EtuPxWNup"
    "K7SjAuPI+zMBEvxsuIHKnkQlUuJEwu5fFPEEl3bV3u2shYtqejq3nehFbG05VofbsdiIuU"
    "F2pPbJu40WgW3dzYmsIYvYXSn/R6z5UUug0cc75SKWb58E6ryBpvxGWESQr9UkzNewZQs4"
    "3IFRL37JuxR7SR8wgmTdypOBAOizcQ3TdnZ2XsHGdnbEMHvpfVvKFHnaLYGmGC5PjrT09c"
    "JeRI1FL/ZPbXfwF6BZcw"
)
