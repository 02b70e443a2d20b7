from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "registry_credential" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "registry" VARCHAR(255) NOT NULL,
    "username" VARCHAR(255) NOT NULL,
    "password_enc" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "last_used_at" TIMESTAMPTZ,
    "project_id" BIGINT NOT NULL REFERENCES "project" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_registry_cr_project_7d03c4" UNIQUE ("project_id", "registry")
);
COMMENT ON TABLE "registry_credential" IS 'A project''s credentials for one registry, used by every pull and build of its services.';
        ALTER TABLE "service" ADD "git_auth" JSONB;
        ALTER TABLE "service" ADD "resources" JSONB;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "service" DROP COLUMN "git_auth";
        ALTER TABLE "service" DROP COLUMN "resources";
        DROP TABLE IF EXISTS "registry_credential";"""


MODELS_STATE = (
    "eJztXemT2rqW/1dcfJncKibVoZdk+k1NFQ1OhxcaeCzJu3d45TJGgKeNzPXSnZ47+d9Hkm"
    "28SW7bGFo4+oI3Hdn8jpaz6eivxtZcAsN+397pU/MRwMat9FcDqluATlLPmlJD3e3CJ/iG"
    "oy4MUljd6YqzL7awHUvVHPRgpRo2QLeWwNYsfefoJn4JdA0D3zQ1VFCH6/CWC/U/XYCqWg"
    "NnAyz04L//hW7rcAl+ADu43D0qKx0Yy9j36kv8bnJfcV525N6dvu5B5zMpi1+4UDTTcLcw"
    "LL97cTYm3BPo0MF31wACS3UAfoNjufgf4A/0/23wp7yPDYt4XxmhWYKV6hpO5B8vlPBeQ1"
    "EGw6kykaeK0iiAkWZCjC/6VJsAsMaf8O//0WpdXn5sXVzefLq++vjx+tPFJ1SWfG/60cef"
    "3seEaHlVEcx6973BFH+QiZjosRff+EloVEf1qAgzQvTJMYV/Z6NadPSD8gn80R9L4h+gnc"
    "WA4EbIgbDhnYIFW/WHYgC4djbo8kPrUwa839rjzpf2+B0q9Vsc5IH/qOU9w3iH+O4ssNJ/"
    "FEE4pKghxpetHBBftpgI40dxgMnopWxUe1ME5DhVNUC/7WgSg/nmKgfMN1dMmPGjOMyWaT"
    "DGCRm6WwJyD32QCjWQAjug5bk9N4bfB/L4ViKHOWx3H3qDW4kc5nA4ksft6RA/9s/msCt/"
    "k/v48lban87ht578Hd/yjqiee3kwRfXgQ6PMmHSTZ0i6YY9IN0lG2pqJ60ix8u+T4YDeV0"
    "KKBAOXuuZI/ycZup2afKtiZOM/Vy7UMI+khasbjg7t9/h9/9U4Uj/KgBsjhGve2vafRhTm"
    "dw/tfyY50OkP7whkpu2sLVILqeAuNT+Y/wM0R9GXhXiSIBOMqZwxmgUwZMripci8Eqfiec"
    "ArObO0rq9zjEioFHNIIs/oWKtOGusueuLoW5CNt0eZ7AY+6fvg5BzRR39wOYTGiy9PZIA/"
    "7T3Ik2n7YRTrC932VMZPWuTuS+Luu+TUsa9E+t6bfpHwpfTHcCAnu8y+3PSPBv4m1XVMBZ"
    "rPirqMiD7B3QC1GNfBj52OaivB9ThlBVz3P5cXpp8JkwNMMrlsqLajuHap3p2kFZzmmdMW"
    "eEJaVRk+xykFl3njMrbdrR4j9iN8Y6Fqj8+qtVRST8yWySqbfrRtbZN3VKiuCZMwmvg7fZ"
    "Nmx9xudWfiqI7rAZgwecaeN7PMnhopqdhh0ddMn42h6yzMH5K5kjxiySMGdlN6tnTHAVDS"
    "oeRsAGp8KrRVTzZGxfEtbaPCNZAQlQV2puXY75PK4DHqf90o+1cjhL5hA+j4XVBdqHBpwn"
    "2XhOAHfuSA7Y4UwdWgSRg1Kxt9xZ5zPj/8ThB04AYpjL6aXPwUhmAuDcFBl9iohfSdGFUN"
    "9Z3qLWm4X5c2pe2JeYa6MZIH3d7g/lbaAbhEWM/hZNbpyJPJrWS7moZGjTn83O71Z2MZv1"
    "E3XAvMoTweYxMbsCzTKmMry2O9Z9vuU5b76H8q0CMSZDzzqayf5Ooij1Hy6oJtlcTPEmZ8"
    "1UKzlOJaRiEzfoyqjlhftPIMQLgYG23yUFhcfhFhPcpmX2SjmJaZUlWU5HXZqip+XhxXtm"
    "p9uPp49eny5movUu3vZElSgdQUcZcnBOGCnYdCLnoQ1z0oohQVYXSETJgzeOZvUtMtwuQk"
    "reA0z5wmxuS9chHn8xSNyxkm6D1VKQnzjHgq/3MaY2fKkbpnaX84uA+KJ72rST1qZ5gvWz"
    "wgFrXwpEhPJ5DUxN4TsmFjmo+FGRAhEtAXgj5lMo9zIs2Gz6YF9DX8Cl5SFqAE9L61+153"
    "vvg1nRkXfgbNLLgbDpKW+ry3DEdbH/r76E8Dx7MHtCeddlduMIaZCrDtxiqrKbyp0ZUO8t"
    "v4eiIcoHh64vxh+3nijaLa+HbsMLGedK8ZQXe7QLf/le1fIcV9sCN2lEO8KbgLJN4BLP8V"
    "vnurwurjxh/0lio/fe+MO7Be4WDi0sHkd5EUB5jwhwR1kj0qM0WF/aWsI8mlGfmOaDVv/G"
    "Mmz+RuoxjAPtWt5B3ncDSWR23sOfJPcCz2qD/8HQdi4+Mcfu4N2v3eH6hIcDaHneHDqC9P"
    "cUX7U88LhW95xzJep+ojtNHrNMO1mX6n15kbr4FjpbVB/IJyF7Ngf5rkCuJde9CRyZ3gbA"
    "4nX3ujEaHzTvjgHXr7ek0b5fIxLkLOszOrMZvgRQ74dw6/y3dfhsOvt5J/MoftUe9WQj88"
    "Ln9A4h/NAMSOtN8TnD7G/m2MQEeJptfhzqUoZmzY9wQC9kMWMZhwpa8VG6o7e2MWYgCFVL"
    "DiAFYsgWaoFtKdPGCLsIJCKlhxACtWlvm/ACqFx6QknWDC4UywgWYBx1YA1Iq4ZejUHEu6"
    "3LpnGB4xdi9gOcOKNf/zQf0ord8Cqk3T79gtPqQQrbx4K9ewumUoxWFPEQr0S6Avog1/hQ"
    "gL21GtcmyOU4o4Gp657BkXl+W6c4JWcJprTgdzH0LWLjl+06sQfOea74aKeFA49UWMqg5i"
    "0gnSgxlIrgRK+UwINHrRuXjuXH70f5rRr63IoLBWLMjw4nMNc63Y4M8CmCbJBLBUYMETjg"
    "4rAW2MUICbBBfAJ90yYamg6DRtncJjThwVvbPAkw6eCzMhTleKAZzNsW+Ff5DHrij+UTrR"
    "AUozwDINA0fsKuaqMBPStKIjlOVDLHA3PwtiZKIbHAR/GJtdDP+QTjCgqjUykdD6A5dyTM"
    "KazowReddxxNvg6ytl/LmzAmxHYU01xTYuZ7yObUQ4rwBfOV5bTTFOKzSv4+zNexUND4Cj"
    "0NqjjA57CSEG7FieTMe9zrTBEggrgLfQQjrOBMG8CKfF4BjM6DOkwazfTw7CRIGsZBAmNR"
    "UbK84U6rjazWjN7AWL6Wx3fo5FitDnV/D56xgYKiObFyPvZE1GEuqwcCBUdRwP4gIANnxW"
    "BpL8VK+pPxEuAnaVITVBldUVKH0JtjvTAVB7UR7By4GY9cLa0CRTV8ywb8fQ4aFDe99c91"
    "EtdUXJXGDxkGBwIFDDsKaajuzPYEESUqC/qyOJWj+0aX336ut61eXpiOeC2mnyQnhzY2Zy"
    "iP30mSdDhOezJKUrzhMRz0KBnaKZeSJE+oNzNWhiGlb6g2JO9JN7zo+Pf2XOc4JGCsqcC6"
    "x9Wq5XV3fGcttLVOCdzOFk2p7OJkrnS3twT9a8x67xc3kUfRpeBYvnlbH8jxlSkcNF9OEd"
    "nBxh0OnPul5yBP+0kY+58d2h8iQrzkhVnE5UXCIro1gqwH8U3PklLynRj0XiEpG45FwSl9"
    "i+/STvKtCgvFgEesDen+qLYaoUqTxj38+QhI89P/Fra7Pnp0hVy2MsiMjsWdPMnsRmn2nA"
    "Caz6uew3wZR0XPPNI+J9yn4jbC5c2lwIr0qKogEt1xoGmtgGSFkghzm8m/X6SK4kB6RtzP"
    "p9pGqg3zn8NuzPHlBB70jsCeMpMSOMp3P4RW73p19uJe9I00L4kFHR9K3Tt+OabFXDYAeL"
    "R+jqNC1ftj7e7PsTvsjqQZOHdr9fiyyi/u5yBYXOcFM6/2QOx7PBgNzxT/xt6l7V6pIaHE"
    "3P46PHiIwMv4IxTTO3OyzclcvIEKcVnOaZ00vgqDplh0R2/qKQgmNrWiW8FHvX1EquFwaB"
    "X8UgEI1cplgDEoHNbFNAYu1F1WaAyLIZ8oXCBsDNWNHMsAGQYwp/dhqboDzPen9+FsT3Mr"
    "/MoV/cXLL3Mr8U2wjnhx79weUQGi+NfSzhOYih/gCRKYWKRft8yUNiQWe1CzrzLCAKJapT"
    "rog5F9Rpa+sPxKl+67iPGicd7A5JEagjG0eyhem17ijBRpXVStJCbOZlSskSm9E4+aQvy+"
    "9kFKXnWZRu3CNpaXZ3K3nHOUTHftu7RkdyLbfJpdwuY9TPkzSSnTIylTDSAsSbZVqFcnPG"
    "qXjmR0nVpnV9nSfy+PqaHXqMn8WxXlioaW+K4BxS1MHaegKI/QXdNNnANA2gQpYmEZIlkF"
    "4gumM15/2d05q274bDfkw1vOslbdezhzt5/O4DgR4V0p3YMB8JpzcMpOqtTOtRKQk9owbB"
    "hQJc8LatKbrnTZyqFoP4qf05XryCou50xbUofjT2yJ6mrN8If/2hlWOER6WYIzx5RoXcMR"
    "8BLNziKbR1gP3UzV6YaUuxgiOzbL5FVSKJIVd2WZHEsNokhiKx0xGss2+XzuJs4DqmnTaR"
    "jYdirk3n62FbbROZgnIZbxtDCCTLfJZ2wJLe2e4C+0ea0tZ1CMebEqroN4TEBkgep6QQIU"
    "m3peeN6khb9RHYElJPcEOSbHUF3ieNZcd6zxzO0Ui6cyR1p1qOtLLMLakk9NBItimpUPJ2"
    "SVni90jvWlfS5jdJQ7cX6KsAGiuW0rOOGrbrSI7pahv00XOI69G3+BMRwKiYZlpL8seoES"
    "L+fyKCgf+v8DlmhAgW4WbCbmZYvSMczK0YhiS1UMlPYPSLdo68MEdpaojzTZ7EGTfsxBk3"
    "qcQZ/vCfF1+/eA2hPUoT9je0UzaqXchBkKSrId7VN2VhvnhNZq2F+UIE2/NoxBDB9rUKti"
    "c8MnxlnqZtRp83M3XNZEluooSyVwPXTGMqvwiYrQa5NFTZQo1LhbSkLPO2mMYkmcs87rBL"
    "tjfsMuUME5IMG/p6xcunZtS3Ge6D/NWUkT6S2po9yAdptKsf4POkxRVWMj6tZCKVbVWpbN"
    "FYjaSoLSX1XvZ0ECOs4WxwJqN/Pre8g6a2LV2gypNiJaDm2VbUmEy7wxlJKYSPOMNQVx6P"
    "yTU6ouvfJ1P5AV2TY9I39AaB1PSEl3l5Qk1+yVMs0i+WGsoBPygiNTuyLCjPc5/iNpxMGO"
    "qEoY5ndtTCUBfdUIeivSX222FrcGai4DGtdLFtTBIRXeQzPAMGphK7m5zd2NPMUAmj7C2o"
    "yiRIhTLDtTKztPQVIz7mdbl5T8yz2IVauzL5fdC5lfyTOeyOe5/JBgz+yRw+9CYTkjrSP5"
    "nD2eDrYPh9cCv5J3zIxeh1DnoZsCjRnews83EqPhLN4/fVJ9G8vloBC0BqVgQ2XxJkgjGV"
    "Mwanw1QtNBnhWNDC2g2NupSCw9l6pVPKGGI5C68KpljOUu1yFua4c2r9nbPRJi/GtNE2hj"
    "T6EGkw6/ffSoUfeevjX8lvSSnVzFLo/VX3StF0l43pBkg+sWSuJBOiS/TBkh+T+jd0Yu5Q"
    "S1nGbtve6gi8pEK38PqN9MKOKiumL6wIxwtcg+LXkL2Napib3t0tg9gJYXo4y1mpmWF6iL"
    "WIFB/YyQgTZHWSEyr0TzsGZcLP8KsEBBy7xrj1q2yAukRNckU3r9ABj9LwbFXhafEGwcze"
    "qIVx9mlqiHP1izYWqg2KNuYoTQ1BPkpjVl2EEyNNHx3lkKIOg/QJIMbJrigSXlaWrIBEpM"
    "Uqkhbr/PaianemvW9yQeunT3Urecc5RLLAhGweRY74Wm4PvBvkpIwvoeJwKRG5XkpMPDf3"
    "XkRVLsjmOKVgM9ds1gzTLteZo4RirzC+eYykk5JMjlIKLvPMZeEkE04y3hhRpZOM7bl567"
    "04+BzUTpu9LNgvhurW2m8lk+XLCgtxs3xcuG5O5bp5273ZOFppLnZmO6Wc8MuuNH/rKZO3"
    "lsCcM6M9KRJncSBWiRCPOoJlgbWOHr8oaBRZov+pq8aBoI39Gjv7CuuKndgn7Q0kWErzog"
    "iz9EbIlmsp3SCXjNtoS75I/G+2FOlC0sq0SFxVUHFTIhlrFy8SwNmWvcAqFS5JWPYSR2Hp"
    "ji0FLSodsnXE97y2eXJQtcj2cR5C+p5fBQT1KI1w5OfzMqOOZhVViKI0AuecW46ptv1son"
    "mj4GY0Sbpa4H3qEDehlrKbfr3U0ijXDdV2FLecxzFJK9xRPLujxNbwfLmjxNbwp9oa/phK"
    "KtbpiSaVUkz9J80sZdQOywgfyy+nvgkfy9F8LOgLHoGlbEzawiM2wgmyWugRJ9hI1DFsRV"
    "MVDViFd86lkNYh9P3UyhuB0dBxvqzSXEiTC04cxIlH8HIAIyLUgg8l9pO2N8rO0p8QQGUY"
    "wSAXnCjHiUeklUIyr1J8aNlcSJAKDhTnAJYA0CdormXhkSUzwoAp+2dXcjq7wIfj6gSVLd"
    "DGeKF/5YLlAYDTKzgd2K2LM0FbNQzzmYzYugGwpp7COXNRII1cLBAssEDQAqq2IRAUAz5G"
    "Vw7x8xncK8Sb2N61DUD6amnTfZxcWO95tt77loknYNkFt2dNU9ZBhBIbWwpvaLFuJoJ0Re"
    "wkVyAd2y2F4WL4pXwksx1TQaGK9xZLJMcjXyfiDYXDivd+fGyXlW26lgY8kKgY58izEq+C"
    "Z9gbneHDaDjB2yB5J3PYHXa+yuPPvT66GZ7PYe+hfY9ukUOjBKuqT93u4ZzmEjs9eEjBR2"
    "Zw/NraZAZHM0oRXvjF+WBErVK0b4BqOBvPrlCEI0m6g1jDmaJ6ah6gR2SsKbR7QYxIoF8e"
    "/bXuKDiJXxHwozQC+/LYE83eMg0Dq1BF7f9J2hMa/wM94rxt0ZEd25CcugCUvJdMLY1dwe"
    "k8Xefi6BKGSTbU9TJMiuR/deY6xeuTMp16Ue5luB6nFK49fpic7tsRg2jhxTlpWrFAp6C5"
    "U6yQ4oYB3nKYUgkT92QCfrFArfJ5ppIFaowxvwJ865m9KIlxeq57Hedwgd2BEIer+WqKbm"
    "wQjQE7RhLOuNeZ8pzx81xQTxkLN6b5eCBQ97rzBdVSV5S8TcgJBgcCNQxrqitY/l5/BwJF"
    "3/ewLngdM+7mO1jgHt0Fho6TcjUo8TfJIs2sOJxnrzAejcPSr6YqG5I0YWT/PEnF6cSe9C"
    "WwJBsxsik9bxAPUV3SAmjoy7xEYX+TIHjGxVe6hX51iPd+lAywXAMrnaLsCPVTQ4U2/rC2"
    "BEt3R9ZhZe8rSaDyZjALaAAhFlhA0E1MKPaXPDsFpSmx45GCXkHVGDMiouNk9QuHPkpyrk"
    "gnLIR1lEpAnQtqNHzS9EI2ynsCnkO+uIntT8wNRezqCdIaulPqZFk3XUczWSGrr4dTRsh5"
    "7leNrjzqD3/Hm9IFZ3M4GsvfevJ3JXyWvBOWCfa4i1/P4eRrbzTCD/yTOezORv1eB7EWvS"
    "o4ncOx/He5M8UFg7OkxPg2YZoWUG3aWin2evOQog4z1amXmaPOstWdotv3xqnqgPux56+d"
    "+mKYKkXkZceYRUhEiNkhwZV73cFcFfZT0ahLuas448LbOAsj8WJFGZEiFVwoy4WIySU//h"
    "Ei4a6tyl0bGMsOdHTVz5vQTHi6Iq3vdQfiMuaFOhDbOm5il0Q3NbbGMEZfIQ1m/f5bpWtt"
    "A0vXNg2KWd5/0syyxqthGW7Stf4qpuYDA6jZRuQSKTUOzaXB28h5ApMm7lQFEPaL1xDdDx"
    "cXeewcFxdsQwd+ltS8oUOdotgaYYTk9Cshz1wlLJAypPrJ7Of/A3AixW0="
)
