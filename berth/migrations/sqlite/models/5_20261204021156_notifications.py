from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "notification_channel" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "kind" VARCHAR(8) NOT NULL /* WEBHOOK: WEBHOOK\nSLACK: SLACK\nDISCORD: DISCORD */,
    "url_enc" TEXT NOT NULL,
    "secret_enc" TEXT,
    "events" JSON NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "project_id" BIGINT NOT NULL REFERENCES "project" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_notificatio_project_46583a" UNIQUE ("project_id", "name")
);
        CREATE TABLE IF NOT EXISTS "notification_delivery" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "event" VARCHAR(64) NOT NULL,
    "delivery_id" VARCHAR(36) NOT NULL UNIQUE,
    "payload" JSON NOT NULL,
    "status" VARCHAR(10) NOT NULL /* PENDING: PENDING\nDELIVERED: DELIVERED\nFAILED: FAILED */,
    "attempts" INT NOT NULL,
    "next_attempt_at" TIMESTAMP NOT NULL,
    "response_status" INT,
    "last_error" TEXT,
    "created_at" TIMESTAMP NOT NULL,
    "delivered_at" TIMESTAMP,
    "channel_id" BIGINT NOT NULL REFERENCES "notification_channel" ("id") ON DELETE CASCADE,
    "deployment_id" BIGINT REFERENCES "deployment" ("id") ON DELETE SET NULL
) /* Outbox: one event for one channel, written in the transaction of the change it announces. */;
CREATE INDEX IF NOT EXISTS "idx_notificatio_status_8c51a7" ON "notification_delivery" ("status", "next_attempt_at");
CREATE INDEX IF NOT EXISTS "idx_notificatio_channel_a8abd3" ON "notification_delivery" ("channel_id", "created_at", "id");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "notification_delivery";
        DROP TABLE IF EXISTS "notification_channel";"""


MODELS_STATE = (
    "eJztXemT4roR/1dcfNpXRbZmZ3ZmN5NUqhjw7pJlgHDs5r2QchkjwBkj83zMkZf93yPJNr"
    "4kYxvDCK++4Estm1/raHW3uv9obMwFMOy3ra0+MR8AbNxKfzSgugHoJPWsKTXU7TZ8gm84"
    "6twghdWtrji7YnPbsVTNQQ+WqmEDdGsBbM3St45u4pdA1zDwTVNDBXW4Cm+5UP/dBaiqFX"
    "DWwEIP/vVvdFuHC/AM7OBy+6AsdWAsYt+rL/C7yX3FedmSe3f6qgudT6QsfuFc0UzD3cCw"
    "/PbFWZtwR6BDB99dAQgs1QH4DY7l4n+AP9D/t8Gf8j42LOJ9ZYRmAZaqaziRfzxXwnsNRe"
    "kPJspYnihKowBGmgkxvuhTbQLACn/Cn/58eXl19eHy4urm4/X7Dx+uP158RGXJ96Yfffjh"
    "fUyIllcVwaz7uduf4A8yERM99uIbPwiN6qgeFWFGiD45pvBvr1WLjn5QPoE/+mNJ/AO0sx"
    "gQ3Ag5EDa8U7Bgoz4rBoArZ40u311+zID3W2vU/tIavUGlfomD3PcfXXrPMN4hvlsLLPXn"
    "IgiHFDXE+OoyB8RXl0yE8aM4wGT0UtaqvS4CcpyqGqBfdzSJwXzzPgfMN++ZMONHcZgt02"
    "CMEzJ0NwTkLvogFWogBXZAy3N7bgy+9+XRrUQOM9jq3Hf7txI5zOBgKI9akwF+7J/NYEf+"
    "Jvfw5a20O53Bb135O77lHVE9n+X+BNWDD40yY9JNniHphj0i3SQZaWsmriPFyr+PB316Xw"
    "kpEgxc6Joj/U8ydDs1+VbFyMZfly7UMI+kuasbjg7tt/h9f2scqR9lwI0RwjVvbPt3Iwrz"
    "m/vWP5McaPcGdwQy03ZWFqmFVHCXmh/M/wDNUfRFIZ4kyARjKmeMZgEMmTJ/KTKvxKl4Hv"
    "BKziyX19c5RiRUijkkkWd0rFUnjXUHPXH0DcjG26NMdgOf9G1wco7ooz+4GEDjxZcnMsCf"
    "dO/l8aR1P4z1hU5rIuMnl+TuS+Lum+TUsatE+t6dfJHwpfTboC8nu8yu3OS3Bv4m1XVMBZ"
    "pPirqIiD7B3QC1GNfB81ZHtZXgepyyAq77n8sL08+EyQEmmVw2VNtRXLtU707SCk7zzGkL"
    "PKJVVRk+xykFl3njMtbdLR8i+iN8Y65qD0+qtVBST8xLk1U2/WhzuUneUaG6IkzCaOLv9F"
    "WabXOz0Z2xozquB2BC5Rl73sxSe2qkpGKHRfepPhsD15mbz5K5lDxiySMGdlN6snTHAVDS"
    "oeSsAWp8KrRVTzZGxfEtba3CFZAQlQW2puXYb5OLwWPUv18p+0cjhL5hA+j4XVCdq3Bhwl"
    "2XhOAZP3LAZkuK4GrQJIyalY2+Ysc5nx9+Jwg6cIMURl9NLn4IRTCXiuCgS6zVQuudGFUN"
    "1zvVa9Jwvy6tStsR8wx1Yyj3O93+51tpC+ACYT2D42m7LY/Ht5LtahoaNWbwU6vbm45k/E"
    "bdcC0wg/JohFVswLJMq4yuLI/2nq27T2nuo/+pQI9IkPHMp7J2kvcXeZSS7y/YWkn8LKHG"
    "Vy00SymuZRRS48eo6oj1xWWeAQgXY6NNHgqNy08irEfZ7ItsFNUyU6qKkuyXrari58VxZa"
    "vLd+8/vP94dfN+J1Lt7mRJUoHUFDGXJwThgp2HQi56ENc9KLIoKsLoCJlQZ/DM3+RKtwiT"
    "k7SC0zxzmiiTd4uLOJ8naFzOUEHvqEpJmGfEU/mfkxg7U4bUHUt7g/7noHjSuppcR20N82"
    "WDB8SiGp4U6ekEkproe0I2rE3zoTADIkQC+kLQp1TmcU6k2fDJtIC+gl/BS0oDlIDe13Z/"
    "1p0vfk1nxoUfQTML7oaDpKU+7TTD0daH/j7608Dx9AGtcbvVkRuMYaYCbDuxymoKb2p0pY"
    "P8OraeCAcolp44f9h2nnijqNa/HRtMrEfda0bQ3czR7X9n21dIcR/siB7lEGsK7gKJdwDL"
    "f4Vv3qqw+rjyB72lyk/fGeMOrFcYmLg0MPldJMUBJvwhQZ1kj8pUUWF/KWtIcmlKviNqzR"
    "v/mMpTudMoBrBPdSt5xxkcjuRhC1uO/BPsiz3sDX7Fjtj4OIOfuv1Wr/sbKhKczWB7cD/s"
    "yRNc0e7Us0LhW96xjNWpeg9t9DrNcG2m3Wk/c+M1cLxobRC7oNzBLNidJrmCeNfqt2VyJz"
    "ibwfHX7nBI6LwTPniH3r5a0Ua5fIyLkPNszGpMx3iTA/6dwe/y3ZfB4Out5J/MYGvYvZXQ"
    "D4/bH5D4R1MAsT3tdwSn97F/HSXQUbzpdbh1KQszNuw7AgH7IZsYTLjUV4oN1a29NgsxgE"
    "IqWHEAKxZAM1QLrZ08YIuwgkIqWHEAK5aW+V8AlcJjUpJOMOFwJthAs4BjKwBqRcwydGqO"
    "JV1uzTMMixi7F7CMYcWa//mgfpTWbwHVpq3v2C0+pBCtvHgr1/Byy1CKw54iFOiXQF94G/"
    "4MHha2o1rl2BynFH40PHPZUy4uynXnBK3gNNecDuY+hKxdcvymVyH4zjXfDRXxoHDoixhV"
    "HcSkE4QHM5BcCZTykRBo9KJz8dy5fO//NKP37cigsFZsyPD8cw1zpdjg9wKYJskEsFRgwS"
    "P2DisBbYxQgJsEF8BH3TJhKafoNG2d3GNO7BW9tcCjDp4KMyFOV4oBnM2xr4V/EMeuKP5R"
    "OtEBSjPAMg0De+wq5rIwE9K0oiOU5UPMcTc/C2JkohscBH/om10M/5BOMKCqPTIR1/oDt3"
    "KMw5rOjBF593HE2+D+nTL+3FkBtsOwpppiG5cz9mMbEc4rwFeO11ZTjNMLmv04e/NeRcMD"
    "4Mi19iijw05CiAE7kseTUbc9abAEwgrgLbSRjjNBMC/CaTE4BjP6DKk/7fWSgzBZQFYyCJ"
    "Oaio0VZwp1fNnNaM3sDYvpaHd+jEWK0OdX8OnrCBgqI5oXI+5kTUYS6rBwIFR1HA/iAgBW"
    "fFYGkvxYr6k/4S4CtpUhNUaV1RUofQE2W9MBUHtRHsDLgZh1w9rQJFNXzLBtx9DhoUN7z1"
    "z1UC11RQmajr7UNQICnkt1JCrqh2LWj1Ta8erM08zOcbQ351i8Jv/0QNAGYU01xeoJzElA"
    "j6qa2Xevvhq2sNPE1fBki8zgGjvxI0+EDc/mS0pXHGcjHsUDG5Uz42yI8BHnqhDGNKzwEc"
    "WcEE7ueXB8/CtzPiBopKDMuUHdp+V6d3p7JLe8QA/eyQyOJ63JdKy0v7T6n0nMgNg1fi4P"
    "o0/DqyD4gDKS/zGVx5MwCEF4BweX6Ld7044XXMI/beRjbjy7Vp5gzxmhntOBnktEtRRbLf"
    "j3Ijy/4C8l+rEI/CICv5xL4Bfb1z/l3UUblBebaA/Inaq+GKZKkcoz8qaGJHzkTMWvrU3O"
    "VBHql0dfGhEZtaaRUYnNI1OBE1hFculvginpuOqbB8T7lP5G6Fy41LkQXpUURQNarlcYaG"
    "Lro8UCOczg3bTbQ3IlOaDVxrTXQ0sN9DuD3wa96T0q6B2JPmE0IWqE0WQGv8it3uTLreQd"
    "aasQPmRUNH3r9HRm441qGGxn+whdnablq8sPN7v+hC+yetD4vtXr1SIKq5+dr6DQGSb180"
    "9mcDTt98kd/8RP87d3VZdcwdHWeXz0GBHR4mdQpmnmZouFu3IRLeK0gtM8c3oBHFWnZJhk"
    "x38KKTjWplXCS5H7p1ZyvVAI/CwKgajnN0UbkHAMZ6sCEntXqlYDRLYdkS8UOgBuxopmhg"
    "6AHFP4s8MABeV5XvfnZ0E8F/xVjvXFzRU7F/yVSMOcH3r0BxcDaLw0dr6E5yCG+gNEphQq"
    "gh7wJQ+JDbHVbojNswErlKhOuaPoXFCnxSY4EKf67YM/qp90kF2TIlBHEm+yhemV7ihBos"
    "9qJWkhNvMypWSJzWicfNQX5TNBRel5FqUbn5G0NL27lbzjDKJjr+VdoyO5llvkUm6VUern"
    "CbrJDrmZCrhpAWLNMq1CsU3jVDzzo+TS5vL6Oo/n8fU12/UYP4tjPbdQ014XwTmkqIO29Q"
    "QQ+xviabKBaRpAhayVREiWQHqO6I7VnHd3TqvavhsMerGl4V03qbue3t/JozfvCPSokO7E"
    "hvmIO71hoKXe0rQelJLQM2oQXCjABS/tT9GcQXGqWgzip7bneP4KirrVFdei2NHYI3uasn"
    "4j/PW7yxwjPCrFHOHJMyrkjvkAYOEWT6GtA+ynbvZCTVuKFRypZfNtqhJBILnSy4ogkNUG"
    "gRSBsY6gnX29cBZnA9cx9bSJaEYUdW063hFba5uItJRLedsYQCBZ5pO0BZb0xnbn2D7SlD"
    "auQzjelFBFvyAk1kDyOCWFCEm6LT2tVUfaqA/AltDyBDckyVaX4G1SWXas98zgDI2kW0dS"
    "t6rlSEvL3JBKQguNZJuSCiUvy8wCv0d6c/leWv8iaej2HH0VQGPFQnrSUcN2HckxXW2NPn"
    "oGcT36Bn8iAhgV00xrQf4Y1UPE/09EMPD/FT7HjBDOItxM2M0MrXeEg7kXhiFJLZbkJ1D6"
    "RTtHXpijNDXE+SZP4IwbduCMm1TgDH/4z4uvX7yG0B6lCfsJAZW1ahcyECTpaoh39U1ZqC"
    "/2yay1UF8IZ3selRjC2b5WzvaER4a/mKetNqPPm5lrzWRJbryEsncD12zFVH4TMHsZ5NJQ"
    "ZQs1LhXSkrLM62Iak2Su8pjDrtjWsKuUMUxIMmzo6+Uvn5pRX2e4D+J/U0b6SGhw9iAfhC"
    "GvfoDPExZXaMn41JKJULZVhbJFYzWSojaU0HvZ00GMsIazwZmM/vnM8g6a2jZ0gSpPiJWA"
    "mmddUWM86QymJKQQPuIIQx15NCLX6Iiufx1P5Ht0TY5J29ArOFLTA17m5Qk1+CVPvkg/WW"
    "goBzxTRGq2Z1lQnuc+xa07mVDUCUUdz+yohaIumoUIzUoQAqNBWcXRijWzVnSxlElahEKE"
    "yxBrOxEuIyqlXFzkEVMuLthyCn6WMMvXPSTpd/nuy2Dw9VbyT5BE2Wu10TU5zGCnO24PRk"
    "gW9U84WAq4llF0Z0KEhGducCtCvtoOqJ98JwgrvSs740BIcfqEA68D/FFSCwjLT6k+cG66"
    "PhEaia9FsQiN9BqhkV41D++5wH/UbSVU7PaoD6IY59QfLKIk+zeauM7cfL6VTAgkIlZIS9"
    "MiV74eoik9WbrjACjpkOzhQBVCW/VSDplLcgsXXQFJdyREYrqoz9qUrSbHfNN+b6VYOtcw"
    "Rj5Egi2axh2w2eLjQVle8aQTeYn/t/y+GxcZRD7Zc53YmhmKml224ryamh1BLRasx/Y5D0"
    "Y2qiTHBjlBVj+XuDyWuyu25e4qndTlzJLg1WhN+jPnfunIve43eYRTtuxOK8mqmk9nnKEy"
    "TmdAJgIDhU/MmTZKcrq15MVx59vKnK6SYlgK12x9DIVcKGW4Vsqgqrbo3wGFNeAxOxKFsl"
    "R/4kzrXHWPMlTbUYBlmZRwoWxtfpxKaPNFXCcxflHHL39RUYrRSVqR34tnTsfVOPlVK3E6"
    "YT4oqGXhyLWRs87FhREn4qV2oBGH4S13Zl0jr0EnPirQDTr0xl8B1IU8SDlr9dU4kKKvkP"
    "rTXu+1PEgHcxxUj7nTO/q4mWXxMRMFj7nPO245iccEJJ/hCTLCnnGWY3wzw54RZW9BGTdB"
    "KlYzXMu4C0tfMgxX+5XOO2KejViotSvjX/vtW8k/mcHOqPtpQpTN3skM3nfHY6KS9k9mcN"
    "r/2h98799K/kkp9XPlO6vQ6xz0MmAV8hqMU53eStP469KFnjV/7uqGo0P7LX7f3wpaDri1"
    "3Sz05RIt6yE1rxabLwkywZjKGYMTqqtY34KjiRZfyFOoxTqy7GpeBETnayEvAqJXGxCdOe"
    "6I9Xs+BQlltOVqCT/0MiztyZBOKdXMWtD7eZuUognTG5M1kHxi7CSJ/Sm36IMlP6rpX9CJ"
    "uUUtZRG7bXvxtbFPpW7hCOBpf80qK6aH5g7HC1yD4teQ2pXK8Nx0t4vAXCZUD2c5KzUzVA"
    "+xFpHiA3vPRoKsTnJChRGOHIMy4WdE5ggIhENAcYeANVAXqEku6eoVOuBRGp61KiU9Vo8S"
    "/ptgZq/Vwjj7NDXEuXoX7Llqg6KNOUpTQ5CP0phVF+HESPTM8C/dUdRhkD4BxDhdKkXCy8"
    "qzGpCIxKpFEquen0d7qz3pfpMLaj99qlvJO84gkgXG2LzgHfG13Op7N8hJGVtCxVE2hLNi"
    "KTHx3Mx7kaVyQTbHKQWbuWazZph2uc4cJRTeqHzzGEknJZkcpRRc5pnLwkgmjGS8MaJKI1"
    "m+kCWBsevAmCV1tJodNVBJEFaHatbaRdzJsmWFhbhJQCRMN6cy3bxuuFKOAjPcXOVRv16x"
    "1a9XYr2eH/qfNlfRa0+ZvLUE5pwZC7oZ+lkciFXCxaOOYNHik1cYSK5+u75oi7kDAavfwu"
    "GoMiyGiwiNKRHWf5IpwdphGSHACgFWCLBVCbDoCx6ApaxNmldXRgi3OFkNvQiu3+VJbIpK"
    "McEmzxKOXoataKqiAatwWHcKaR38Ck7t/EVgNHS8G7k0F9LkghMHceIBvBzAiAi14EOJLB"
    "P2Wtla+iMCqAwjGOSCE+U48QDNJ0jmVcryJJsLCVLBgeIcwBIA+gTNtSw8smSqb5iyf3Yl"
    "p7MBvjvumqAy73eMF/pXLlgcADi9gtOBfXkugT1VwzCfyIitGwCv1FM4Z3pc0siF92UB70"
    "sLqNqaQFAM+BhdOcTPZ3CvEG8SQFNbA7ReLWOmoZALTx2ePXV8zcQjsGxffVtQpxGhrIMI"
    "dewNKFvLfH5RcHQKUAjtJJ3AOi/WLP/9jFwACbqDIppwhvnJQ5cIi7+w+AuLvzDDnq8ZFs"
    "PFsMP6SGYbYoNCFSdDT0TaEAnRhYH2LPrxsU20tulaGvBAomKcY9NmvAqeYW+0B/fDwVi+"
    "lfyTGewM2l/l0aduD90Mz2ewe9/6jG6RQ6MEq6qPA+nhXEQ0Dyn4CDOIX1ubMINoRinCC7"
    "84H4yoVbzHNVANZ+3p0YpwJEknFq7leWCZrlNoaNoRCNTLo05WlZZpGFh8L2prSdKe0NAS"
    "yLDnrfeP5B5AMtIcUAK4MFcI7ApEtsAk2EIpxoa6XkoxEcWizlynWNhSajtv93DJNGugUq"
    "6fj2zBOZPTfTuijCsc9CBNKwIfFFS1xWx+eO92YSbE6QQDSjPA23pUKvLHjkzAXwj+jMAf"
    "kVAGcV4UDvwRiZxwZozIG/gjPgTsj46fMMAciG89t+EmMU7PdftxDjczHghxuHOypujGBt"
    "EYsCMk4Yy67QnPoWvOBfVY41zpjrI2zYcDgfqsO19QLXVFKZLu8UCgEhkm6wiWn7TiQKDo"
    "CTzqgtcxfT6+gznu0R0vy/lLg+L7kSzSzPIBefIKK4to6b15UQYQBDlJJFVCssmjvgCWZC"
    "NGNqWnNeIhqkuaAw19Gc5vojt/kSB4wsWXuoV+dYiTmEgGWKyAlU6PcoT6qW4qa39YW4CF"
    "uyV73rITpBCovBnMAhrQwxyc6CYmFIlSzm6B0pTYvjBBr6CuGDO8z+Nk9XOHPkrM+EgnLI"
    "R1lEpAnQtqNHzS1oVslHcEPLsbcePbn5gbiujVE6Q1NKfUSbNuuo5mstwl97vyRch57leN"
    "jjzsDX4l2Zz9sxkcjuRvXfm7Ej5L3gnLBMka4tczOP7aHQ7xA/9kBjvTYa/bRqxFrwpOZ3"
    "Ak/11uk2zSwVlSYnwdF0ELqDZtXxp7b39IUYeZ6tRb+lFn2ehO0TxUcao64H70vWnqi2Gq"
    "FJE3Y1taSCJczA5w7AO7tYO5LGynolGLZNpljYURf7GijEiRCi6U5UJE5ZIf/wiRMNdWZa"
    "4NlGUHGrrqZ01oJixdkda334C4iFmhDsS2jtkYkuimxlauEpi3gKVr6wZFLe8/aWZp49Ww"
    "DDehcX8WVfOBDtRsJXKJ8CWHxi3hbeQ8RVJX1KkKIOwXryG67y4u8ug5Li7Yig78LLnyhg"
    "51imKvCCMkp9+Fd+ZLwgLhKqqfzH78H9jZdN4="
)
