from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "git_hook" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "provider" VARCHAR(8) NOT NULL,
    "repository" VARCHAR(255) NOT NULL,
    "branch" VARCHAR(255),
    "previews" BOOL NOT NULL,
    "allow_fork_previews" BOOL NOT NULL,
    "secret_enc" TEXT NOT NULL,
    "status_api_url" VARCHAR(512),
    "status_token_enc" TEXT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "service_id" BIGINT NOT NULL REFERENCES "service" ("id") ON DELETE CASCADE
);
COMMENT ON COLUMN "git_hook"."provider" IS 'GITHUB: GITHUB\nGITLAB: GITLAB\nGITEA: GITEA';
        CREATE TABLE IF NOT EXISTS "commit_status" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "commit_sha" VARCHAR(64) NOT NULL,
    "state" VARCHAR(8) NOT NULL,
    "description" VARCHAR(140) NOT NULL,
    "target_url" VARCHAR(1024) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "attempts" INT NOT NULL,
    "next_attempt_at" TIMESTAMPTZ NOT NULL,
    "sent_at" TIMESTAMPTZ,
    "abandoned_at" TIMESTAMPTZ,
    "last_error" TEXT,
    "deployment_id" BIGINT NOT NULL REFERENCES "deployment" ("id") ON DELETE CASCADE,
    "hook_id" BIGINT NOT NULL REFERENCES "git_hook" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_commit_stat_sent_at_41bcae" ON "commit_status" ("sent_at", "abandoned_at", "next_attempt_at");
COMMENT ON COLUMN "commit_status"."state" IS 'PENDING: pending\nSUCCESS: success\nFAILURE: failure\nERROR: error';
COMMENT ON TABLE "commit_status" IS 'Outbox of commit statuses, written in the transaction of the change it reports.';
        CREATE TABLE IF NOT EXISTS "preview_environment" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "pull_request" INT NOT NULL,
    "title" TEXT,
    "head_ref" VARCHAR(255) NOT NULL,
    "head_sha" VARCHAR(64) NOT NULL,
    "base_ref" VARCHAR(255) NOT NULL,
    "author" VARCHAR(255),
    "fork" BOOL NOT NULL,
    "status" VARCHAR(8) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "closed_at" TIMESTAMPTZ,
    "cleaned_at" TIMESTAMPTZ,
    "service_id" BIGINT NOT NULL REFERENCES "service" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_preview_env_service_56d600" UNIQUE ("service_id", "pull_request")
);
CREATE INDEX IF NOT EXISTS "idx_preview_env_status_f67851" ON "preview_environment" ("status", "updated_at");
COMMENT ON COLUMN "preview_environment"."status" IS 'ACTIVE: ACTIVE\nCLOSED: CLOSED\nCLEANED: CLEANED';
COMMENT ON TABLE "preview_environment" IS 'The preview of one pull request; reopened pull requests reuse their row.';
        CREATE TABLE IF NOT EXISTS "webhook_delivery" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "delivery_id" VARCHAR(255),
    "dedupe_key" VARCHAR(255),
    "event" VARCHAR(64) NOT NULL,
    "received_at" TIMESTAMPTZ NOT NULL,
    "outcome" VARCHAR(16) NOT NULL,
    "reason" TEXT,
    "commit_sha" VARCHAR(64),
    "payload" JSONB,
    "redelivery_of_id" BIGINT,
    "deployment_id" BIGINT REFERENCES "deployment" ("id") ON DELETE SET NULL,
    "hook_id" BIGINT NOT NULL REFERENCES "git_hook" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_webhook_del_hook_id_d5c7c0" UNIQUE ("hook_id", "dedupe_key")
);
CREATE INDEX IF NOT EXISTS "idx_webhook_del_hook_id_f98ccd" ON "webhook_delivery" ("hook_id", "received_at", "id");
COMMENT ON COLUMN "webhook_delivery"."outcome" IS 'DEPLOYED: DEPLOYED\nPREVIEW_DEPLOYED: PREVIEW_DEPLOYED\nPREVIEW_CLOSED: PREVIEW_CLOSED\nSKIPPED: SKIPPED\nDUPLICATE: DUPLICATE\nREJECTED: REJECTED';
COMMENT ON TABLE "webhook_delivery" IS 'One request a provider sent, whatever became of it; newest first in the ledger.';
        ALTER TABLE "deployment" ADD "preview_id" BIGINT;
        ALTER TABLE "deployment" ADD CONSTRAINT "fk_deployme_preview__6a657a8b" FOREIGN KEY ("preview_id") REFERENCES "preview_environment" ("id") ON DELETE RESTRICT;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "deployment" DROP CONSTRAINT IF EXISTS "fk_deployme_preview__6a657a8b";
        ALTER TABLE "deployment" DROP COLUMN "preview_id";
        DROP TABLE IF EXISTS "webhook_delivery";
        DROP TABLE IF EXISTS "preview_environment";
        DROP TABLE IF EXISTS "git_hook";
        DROP TABLE IF EXISTS "commit_status";"""


MODELS_STATE = (
    "eJztXWuT2rqW/SsuPuVU9aQ69CO5faemiganww0NXB7JPWe45TJGgKeNzPGjOz1n8t9Hkm"
    "38koxtDC0cfcHG1hZmLUva2ntr66/GxlwAw37f2uoT8wnAxp30VwOqG4BOUvcupIa63YZ3"
    "8AVHnRuksLrVFWdXbG47lqo56MZSNWyALi2ArVn61tFN/CPQNQx80dRQQR2uwksu1P90Aa"
    "pqBZw1sNCN//43uqzDBfgB7ODr9klZ6sBYxJ5XX+DfJtcV53VLrt3rqy50PpOy+AfnimYa"
    "7gaG5bevztqEOwEdOvjqCkBgqQ7Av+BYLv4H+AH9fxv8Ke9hwyLeU0ZkFmCpuoYT+cdzJb"
    "zWUJT+YKKM5YmiNApgpJkQ44se1SYArPAj/Mffms2rq4/Ny6vbTzfXHz/efLr8hMqS503f"
    "+vjTe5gQLa8qgln3oduf4AcyEYkevfjCTyKjOqonRcgI0SfHFP7ttWrR0Q/KJ/BHfyyJf4"
    "B2FgHBhZCB8MU7BQUb9YdiALhy1ujrh+anDHi/tUbtL63RO1TqtzjIff9W07uH8Q7x3Vpg"
    "qf8ognAoUUOMr5o5IL5qMhHGt+IAk95LWav2ugjIcalqgH7b3iQG8+11Dphvr5kw41txmC"
    "3TYPQTMnQ3BOQueiAVaiAFdiDL8/vcGHzvy6M7iRxmsNV57PbvJHKYwcFQHrUmA3zbP5vB"
    "jvxN7uGvd9LudAa/deXv+JJ3RPU8yP0JqgcfGmX6pNs8XdItu0e6TRJpayauI0XlP8aDPr"
    "2thBIJAhe65kj/Jxm6nRp8qyKy8Z9LF2qYI2nu6oajQ/s9/r3/ahypHWXAjRHCNW9s+08j"
    "CvO7x9a/kgy0e4N7AplpOyuL1EIquE+ND+b/AM1R9EUhThJigpjKidEsgCFT5q9FxpW4FM"
    "8dXsmRpXlzk6NHQqWYXRK5R8daddJYd9AdR9+AbLw9yWQz8EXfByfniD76g4sBNF59fSID"
    "/En3UR5PWo/DWFvotCYyvtMkV18TV98lh45dJdL37uSLhL9Kfwz6crLJ7MpN/mjgZ1Jdx1"
    "Sg+aKoi4jqE1wNUIuxDn5sdVRbCdbjkhWw7j8uL6SfCckBJpksG6rtKK5dqnUnZQXTPDNt"
    "gWc0qyrDc1xSsMwby9h2t3yK2I/whbmqPb2o1kJJ3TGbJqts+tamuUleUaG6IiRhNPFz+i"
    "bNtrnZ6M7YUR3XAzBh8ozdv8gye2qkpGKHRfeZPhsD15mbPyRzKXnCkicM7AvpxdIdB0BJ"
    "h5KzBujlU6GteroxKo4vaWsVroCEpCywNS3Hfp+cDB6j/v1G2b8aIfQNG0DHb4LqXIULE+"
    "6aJAQ/8C0HbLakCK4GDcLotbLRU+yY8/nwG0HQgBukMHpq8uWnMARzaQgOmsRaLTTfiUnV"
    "cL5TvSUNt+vSprSdMM9QN4Zyv9PtP9xJWwAXCOsZHE/bbXk8vpNsV9NQrzGDn1vd3nQk41"
    "/UDdcCMyiPRtjEBizLtMrYyvJY79m2+5TlPvqfCrSIhBjPPJX1k1xf5jFKXl+yrZL4XsKM"
    "r1polFJcyyhkxo9J1RHry2aeDggXY6NNbgqLyy+irEdp9lU2immZqVVFRfbrVlXxeXlc3a"
    "r54frj9aer2+udSrW7kqVJBVpTxF2eUIQLNh6KuGhBXLegyKSoCNERMWHO4Jnf5Ey3CMlJ"
    "WcE0z0wTY/JuchHneYL65QwT9E6qlIZ5RpzK/5rE6Ew5UneU9gb9h6B40ruanEdtDfN1gz"
    "vEohaelOjpFJKa2HtCGtam+VSYgIiQgL4Q9CmTeZyJNA2fTQvoK/gVvKYsQAnofWv3g+58"
    "8Ws6MxZ+Bq9ZcDXsJC31ZWcZjr596O+jPw0czx7QGrdbHbnB6GYqwLYTq6ym8KZ6VzrIb+"
    "PriTBA8fTE+WH7eeIvRbXx7dhhYj3r3msE3c0cXf53tn+FFPfBjthRDvGm4CaQ+A1g+T/h"
    "u7cqrD5u/EG/UuWj75xxB9YrHExcOpj8JpJigAl/KFAn3aMyU1TYXso6klyake+IVvPGP6"
    "fyVO40igHsS91J3nEGhyN52MKeI/8Ex2IPe4PfcSA2Ps7g526/1ev+gYoEZzPYHjwOe/IE"
    "V7Q79bxQ+JJ3LON1qj5CG/2cZrg20++0n9x4DRxPWhvELyh3MAW70yQriLtWvy2TK8HZDI"
    "6/dodDIued8MEd+vXVitbL5SMuIs6zM6sxHeNFDvhzBr/L918Gg693kn8yg61h905CHzwu"
    "f0DqH80AxI603wmcPsb+bYxAR4mm1+HWpUzM2LDvBATshyxiMOFSXyk2VLf22ixEAEVUUH"
    "EAFQugGaqF5k4esEWooIgKKg6gYmmZ/wugUrhPSsoJEg4nwQaaBRxbAVAr4pahS3Os6XLr"
    "nmF4xNitgOUMK/b6nw/qR3n7LaDatPkd+40PJcRbXvwt1/B0y1CKw54SFOiXQF9EG/4KER"
    "a2o1rlaI5Lijganln2jIuLcs05ISuY5prpYOxDyNol+296FYJ3rnk3VMRB4dQXMak6qEkn"
    "SA9mIL0SKOUzIdDkRePiuXH50f9povetyKBQKxZkePG5hrlSbPBnAUyTYgJYKrDgGUeHlY"
    "A2JijATYIL4LNumbBUUHRatk7hMSeOit5a4FkHL4VJiMuVIoCzMfat8A/y2BXFPyonGkBp"
    "AizTMHDErmIuC5OQlhUNoSwPscDd/BTExEQzOAj+MDa7GP6hnCCgqjUykdD6A5dyjMOazo"
    "yIvOs44u/g/pUy/thZAbbDsKaaYhvXM/ZjG1HOK8BXjtdWU4zTE5r9OHvjXkXdA+AotPYo"
    "vcNOQ4gBO5LHk1G3PWmwFMIK4C20kI4zRTAvwmk1OAYzegypP+31kp0wmUBW0gmTmor1FW"
    "cKdXzazXib2QsW09nu/ByLFKXPr+Dz1xEwVEY2L0beyZr0JNRu4UCo6tgfxBUAbPisDCT5"
    "uV5DfyJcBGwrQ2qMKqsrUPoCbLamA6D2qjyB1wMx64a1oUGmrphh346hw0O79p656qFa6o"
    "qSOcfqIcHgQKAGYU017dlfwJwkpEB/V0catX7oq/Xdq6/jVZenIZ4LaqfJC+GNjZnJIXbD"
    "Z54MEZ7PkpSuOE9EPAsFdopm5okQ6Q/O1aCJZVjpD4o50U/uOT8+/pU5zwkaKShzLrD2Zb"
    "leXd0eyS0vUYF3MoPjSWsyHSvtL63+A1nzHvuO78vD6N3wW7B4XhnJ/5yiKXK4iD68gpMj"
    "9Nu9acdLjuCfNvKRG98dKk+y4oxUxelExSWyMoqlAvxHwZ1f8pIS7VgkLhGJS84lcYnt20"
    "/yrgINyotFoAfs/am+GqZK0coz9v0MRfjY8xP/bG32/BSpanmMBRGZPWua2ZPY7DMNOIFV"
    "P5f9JhiSjmu+eULcp+w3wubCpc2FcFVSFQ1kuZ5hoIGtjyYL5DCD99NuD+mV5IBmG9NeD0"
    "010OcMfhv0po+ooHck9oTRhJgRRpMZ/CK3epMvd5J3pM1C+NBR0fCt07fjGm9Uw2AHi0fk"
    "6jQsXzU/3u7aE/6S1YLGj61erxZZRP3d5QoqneGmdP7JDI6m/T654p/429TtndUlZ3C0eR"
    "4fLUZkZPgVjGmaudli5a5cRoa4rGCaZ6YXwFF1yg6J7PxFoQTH1rRKuBR719RKrxcGgV/F"
    "IBCNXKZYAxKBzWxTQGLtRdVmgMiyGfKEwgbATV9xkWEDIMcU/uw0NkF5nuf9+SmI72V+lW"
    "N+cXvF3sv8SmwjnB969AcXA2i8NnaxhOeghvodRKYWKhbt86UPiQWd1S7ozLOAKNSoTrki"
    "5lxQp62tPxCn+q3jPmqcdLA7JEWhjmwcyVamV7qjBBtVVqtJC7WZlyElS21G/eSzvii/k1"
    "FUnmdVuvGAtKXp/Z3kHWcQHXst7zs6ku9yi3yVW2WM+nmSRrJTRqYSRlqAeLNMq1BuzrgU"
    "z3yUnNo0b27yRB7f3LBDj/G9ONZzC73a6yI4hxJ1sLaeAGJ/QTdNNzBNA6iQNZMIxRJIz5"
    "HcsV7n3ZXTmrbvB4NebGp4303arqeP9/Lo3QcCPSqkO7FuPhJObxhoqrc0rSelJPSMGgQL"
    "BVjwtq0puudNXKoWnfip/TlevIKibnXFtSh+NHbPnpasXw9/86GZo4dHpZg9PLlHhdwxnw"
    "As/MZTZOsA+6lfe2GmLUUFR2bZfIuqRBJDruyyIolhtUkMRWKnI1hn3y6dxdnAdUw7bSIb"
    "D8Vcm87Xw7baJjIF5TLeNgYQSJb5Im2BJb2z3Tn2j1xIG9chjF9IqKLfEBJrIHlMSSFCkm"
    "5LL2vVkTbqE7AlND3BL5Jkq0vwPmksO9bvzOAM9aRbR1K3quVIS8vckEpCD41km5IKJW+X"
    "lAX+Held81pa/yZp6PIcPRVAfcVCetHRi+06kmO62ho99AzievQNfkQEMCqmmdaC/DFqhI"
    "j/n4hi4P8rfI6JEMEi3AzYFxlW7wiDuSeGoUgtpuQnMPpFG0demKMyNcT5Nk/ijFt24ozb"
    "VOIMv/vPi69fvIbQHuUV9je0U9aqXchBkJSrId7Vv8rCfLFPZ62F+UIE2/NoxBDB9rUKti"
    "ccGf5knjbbjN6/yJxrJktyEyWUvRq4ZjOm8ouA2dMgl4YqW6lxqZCW1GXeFtOYJnOVxx12"
    "xfaGXaWcYUKTYUNfr3j51Ij6Nt19kL+a0tNHUluzO/kgjXb1HXyetLjCSsanlUyksq0qlS"
    "3qq5EWtaGk3sseDmKCNRwNzqT3z+eWd9DQtqErVHlSrATSPNuKGuNJZzAlKYXwEWcY6sij"
    "EfmOjuj77+OJ/Ii+k2PSN/QGgdT0hJd5OaEmv+QpFukXSw3lgB8UlZodWRaU57lNcRtOJg"
    "x1wlDHMx21MNRFN9ShzN4S++2wZ3BmouAxrXSxbUwSEV3kMTwDBpYSu5ucXd9zkTEljNJb"
    "cCqTEBWTGa4nMwtLXzLiY/brzTthntUu9LYr49/77TvJP5nBzqj7mWzA4J/M4GN3PCapI/"
    "2TGZz2v/YH3/t3kn/Ch16Mfs5BPwYsSnQnO8t8XIqPRPP49+qTaF5fLoEFIDUrApuXhJgg"
    "pnJicDpM1UKDEY4FLTy7oUmXmuBwtl7plDqGWM7C6wRTLGepdjkLs9859fyds94mL8a03j"
    "aGNHoQqT/t9d5qCj/01sfvyW9JKXWRNaH3V90rRdNdNiZrIPnCkrmUTIi+ogeW/JjUv6MT"
    "c4velEXssu2tjsBLKnQLr99IL+yosmL6woqwv8A1KH4N2duohrnp3e0iiJ0QpoezHJUuMk"
    "wPsTcixQM7GWFCrE56QoX+acegDPgZfpVAgGPXGLd+lTVQF+iVXNLNK3TAozI8W1V4WrxB"
    "MLPXamGcfZka4lz9oo25aoOiL3NUpoYgH+VlVl2EEyNNHx3lUKIOnfQJIMbJrigaXlaWrE"
    "BEpMUqkhbr/PaiarUn3W9yQeunL3UneccZRLrAmGweRY74u9zqexfISRlfQsXhUiJyvZSa"
    "eG7uvchUuSDNcUlBM9c0a4Zpl2vMUUGxVxjfHCPtpCTJUUnBMs8sCyeZcJLxRkSVTjK25+"
    "at9+Lgs1M7bfayYL8Yqltrt5VMli8rLMTN8nHhujmV6+Zt92bjaKW52JntlHrCL7vS/K2H"
    "TN7eBOaYGW1JkTiLA7FKhHjUESyx19cbaGEYLqL2pJQw/06mDmaHZYQKJlQwoYJVpYKhJ3"
    "gClrI2aXFJbIQTYjX0gx9lnxHHsBVNVTRgFd5YhyJaB8/4qcOXCIyGjpfTlmYhLS6YOIiJ"
    "J/B6ABERacFDie2m7LWytfRnBFAZIhjigolyTDyhWTMk4yplepLNQkJUMFCcAawBoEfQXM"
    "vCPUumAYKp+2dXcjov1ofjzgkqi9/GeKF/5YLFAYDTKzgd2M3LM0Hb2xoT99i6AfBMPYVz"
    "jp014+IifrBA/KAFVG1NICgGfEyuHOLn07lXiLeh2khXXwM0Xy3jaKCIi1gTnmNNfMvEM7"
    "Dsgru3pCXroEKJfS+ED69YMxM+POGW4gqkY7ulMFwMv5SPZLZjKihUcerxxNp58nQi+bhw"
    "WPHejo/tsrJN19KABxIV4xzLsOJV8Ax7oz14HA7GOEuydzKDnUH7qzz63O2hi+H5DHYfWw"
    "/oEjk0SlBVfWY3D+c0S+zsYaEEH4nD8M/WJnEYGlGKcOEX54OIWmVwWwPVcNaeXaEII0m5"
    "g6jhbKJ6ag7I/MYyDQMrkkWtoEnZE5pAA23qvC1ykbTWaLSeA0pyAKauyq7gdPb+czH3C/"
    "MMG+p6mWfECuk6s06xfacMSN7KtDKsxyWFg4MfktNtO2IWKrygNi0rFtUWNPpEcvp56wIL"
    "kxCXEwSUJsBbFFBqVflOTMBf1aLyyDLZAxeVR1blnhkReReVx7uA/ZmXE66AA/Gt5xKvJM"
    "bpsW4/zuEyowMhDtc01RTdWCcaA3aENJxRtz3hOS3CuaAeezlXuqOsTfPpQKAedOcLqqWu"
    "KEW2EjsQqMTuZXUEy0+IfiBQ9OTwdcHrmNEH38Ect+gOMHTUm742KFEIySIXWdEIL15h3B"
    "uHpffm3B9AEOS7l1QJ6SbP+gJYko2IvJBe1ohDVJc0Bxp6Mpw7X3f+LkHwgosvdQt96hAn"
    "yJcMsFgBK516/wj1UwMm1n63tgALd0tWo2Qn3ydQeSOYBTSgh/u7oYtYUCThP7sJyoXEjs"
    "oIWgV1xpgRFxoXq19Q6FHyEUcaYSGso1IC6lxQo+6TNi9ko7wT4DnwhZsI58TYUMSunhCt"
    "oTulTpZ103U0kxW4tz+oLCLOc7tqdORhb/A72SnUP5vB4Uj+1pW/K+G95JWwTJAIPP59Bs"
    "dfu8MhvuGfzGBnOux124ha9FPB6QyO5H/IbbJTaXCW1BjfJljNAqpNWzHCXnUbStRhpDr1"
    "YlvUWDa6U3SPk7hUHXA/9vi1VV8NU6WovOw4s4iICDErH2Jmgd3cwVwW9lPRpMVGrWWdhZ"
    "F4saJEpEQFC2VZiJhc8uMfERLu2qrctYGx7EBHV/28CRcJT1fk7dvvQFzEvFAHYlvHTN9J"
    "dFN9K1eb47aApWvrBsUs79+5yLLGq2EZbpJW/iqm5gMDqNlG5BKJBQ7NKMBbz3mKDQNRoy"
    "qAsF+8huh+uLzMY+e4vGQbOvC95MwbOtQhij0jjIicfj3YmU8JCyROqH4w+/n/K6u0Gg=="
)
