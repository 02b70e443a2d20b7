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
        DROP TABLE IF EXISTS "notification_channel";
        DROP TABLE IF EXISTS "notification_delivery";"""


MODELS_STATE = (
    "eJztXVtz27oR/iscPeXMqBnHjp3U7XRGlphEjSypusQ9p+pwKAqSWFOgDi923NP89wIgKd"
    "4AiqQoGWLwIt6wIPUtLovdxe4fjY25AIb9trXVJ+YjgI1b6Y8GVDcAnaSeNaWGut2GT/AN"
    "R50bpLC61RVnV2xuO5aqOejBUjVsgG4tgK1Z+tbRTfwS6BoGvmlqqKAOV+EtF+q/uwBVtQ"
    "LOGljowb/+jW7rcAG+Azu43D4qSx0Yi9j36gv8bnJfcV625N6dvupC5xMpi184VzTTcDcw"
    "LL99cdYm3BHo0MF3VwACS3UAfoNjufgf4A/0/23wp7yPDYt4XxmhWYCl6hpO5B/PlfBeQ1"
    "H6g4kylieK0iiAkWZCjC/6VJsAsMKf8Kc/X15eXX24vLi6+Xj9/sOH648XH1FZ8r3pRx9+"
    "eB8TouVVRTDrfu72J/iDTMREj734xg9CozqqR0WYEaJPjin822vVoqMflE/gj/5YEv8A7S"
    "wGBDdCDoQN7xQs2KjfFQPAlbNGl+8uP2bA+601an9pjd6gUr/EQe77jy69ZxjvEN+tBZb6"
    "9yIIhxQ1xPjqMgfEV5dMhPGjOMBk9FLWqr0uAnKcqhqgX3c0icF88z4HzDfvmTDjR3GYLd"
    "NgjBMydDcE5C76IBVqIAV2QMtze24MHvry6FYihxlsde67/VuJHGZwMJRHrckAP/bPZrAj"
    "f5N7+PJW2p3O4Leu/IBveUdUz2e5P0H14EOjzJh0k2dIumGPSDdJRtqaietIsfLv40Gf3l"
    "dCigQDF7rmSP+TDN1OTb5VMbLx16ULNcwjae7qhqND+y1+398aR+pHGXBjhHDNG9v+3YjC"
    "/Oa+9c8kB9q9wR2BzLSdlUVqIRXcpeYH8z9AcxR9UYgnCTLBmMoZo1kAQ6bMX4rMK3Eqng"
    "e8kjPL5fV1jhEJlWIOSeQZHWvVSWPdQU8cfQOy8fYok93AJ30bnJwj+ugPLgbQePHliQzw"
    "J917eTxp3Q9jfaHTmsj4ySW5+5K4+yY5dewqkR66ky8SvpR+G/TlZJfZlZv81sDfpLqOqU"
    "DzWVEXEdEnuBugFuM6+L7VUW0luB6nrIDr/ufywvQzYXKASSaXDdV2FNcu1buTtILTPHPa"
    "Ak9oVVWGz3FKwWXeuIx1d8vHiP4I35ir2uOzai2U1BPz0mSVTT/aXG6Sd1SorgiTMJr4O3"
    "2VZtvcbHRn7KiO6wGYUHnGnjez1J4aKanYYdF9qs/GwHXm5nfJXEoeseQRA7spPVu64wAo"
    "6VBy1gA1PhXaqicbo+L4lrZW4QpIiMoCW9Ny7LfJxeAx6t+vlP2jEULfsAF0/C6ozlW4MO"
    "GuS0LwHT9ywGZLiuBq0CSMmpWNvmLHOZ8fficIOnCDFEZfTS5+CEUwl4rgoEus1ULrnRhV"
    "Ddc71WvScL8urUrbEfMMdWMo9zvd/udbaQvgAmE9g+Npuy2Px7eS7WoaGjVm8FOr25uOZP"
    "xG3XAtMIPyaIRVbMCyTKuMriyP9p6tu09p7qP/qUCPSJDxzKeydpL3F3mUku8v2FpJ/Cyh"
    "xlctNEsprmUUUuPHqOqI9cVlngEIF2OjTR4KjctPIqxH2eyLbBTVMlOqipLsl62q4ufFcW"
    "Wry3fvP7z/eHXzfidS7e5kSVKB1BQxlycE4YKdh0IuehDXPSiyKCrC6AiZUGfwzN/kSrcI"
    "k5O0gtM8c5ook3eLizifJ2hczlBB76hKSZhnxFP5n5MYO1OG1B1Le4P+56B40rqaXEdtDf"
    "NlgwfEohqeFOnpBJKa6HtCNqxN87EwAyJEAvpC0KdU5nFOpNnwybSAvoJfwUtKA5SA3td2"
    "f9adL35NZ8aFH0EzC+6Gg6SlPu80w9HWh/4++tPA8fQBrXG71ZEbjGGmAmw7scpqCm9qdK"
    "WD/Dq2nggHKJaeOH/Ydp54o6jWvx0bTKwn3WtG0N3M0e1/Z9tXSHEf7Ige5RBrCu4CiXcA"
    "y3+Fb96qsPq48ge9pcpP3xnjDqxXGJi4NDD5XSTFASb8IUGdZI/KVFFhfylrSHJpSr4jas"
    "0b/5jKU7nTKAawT3UreccZHI7kYQtbjvwT7Is97A1+xY7Y+DiDn7r9Vq/7GyoSnM1ge3A/"
    "7MkTXNHu1LNC4VvesYzVqXoPbfQ6zXBtpt1pP3PjNXC8aG0Qu6DcwSzYnSa5gnjX6rdlci"
    "c4m8Hx1+5wSOi8Ez54h96+WtFGuXyMi5DzbMxqTMd4kwP+ncEH+e7LYPD1VvJPZrA17N5K"
    "6IfH7Q9I/KMpgNie9juC0/vYv44S6Cje9DrcupSFGRv2HYGA/ZBNDCZc6ivFhurWXpuFGE"
    "AhFaw4gBULoBmqhdZOHrBFWEEhFaw4gBVLy/wvgErhMSlJJ5hwOBNsoFnAsRUAtSJmGTo1"
    "x5Iut+YZhkWM3QtYxrBizf98UD9K67eAatPWd+wWH1KIVl68lWt4uWUoxWFPEQr0S6AvvA"
    "1/Bg8L21GtcmyOUwo/Gp657CkXF+W6c4JWcJprTgdzH0LWLjl+06sQfOea74aKeFA49EWM"
    "qg5i0gnCgxlIrgRK+UgINHrRuXjuXL73f5rR+3ZkUFgrNmR4/rmGuVJs8HsBTJNkAlgqsO"
    "AJe4eVgDZGKMBNggvgk26ZsJRTdJq2Tu4xJ/aK3lrgSQfPhZkQpyvFAM7m2NfCP4hjVxT/"
    "KJ3oAKUZYJmGgT12FXNZmAlpWtERyvIh5ribnwUxMtENDoI/9M0uhn9IJxhQ1R6ZiGv9gV"
    "s5xmFNZ8aIvPs44m1w/04Zf+6sANthWFNNsY3LGfuxjQjnFeArx2urKcbpBc1+nL15r6Lh"
    "AXDkWnuU0WEnIcSAHcnjyajbnjRYAmEF8BbaSMeZIJgX4bQYHIMZfYbUn/Z6yUGYLCArGY"
    "RJTcXGijOFOr7sZrRm9obFdLQ7P8YiRejzK/j0dQQMlRHNixF3siYjCXVYOBCqOo4HcQEA"
    "Kz4rA0l+qtfUn3AXAdvKkBqjyuoKlL4Am63pAKi9KI/g5UDMumFtaJKpK2bYtmPo8NChvW"
    "eueqiWuqIETUdf6hoBAc+lOhIV9UMx60cq7Xh15mlm5zjam3MsXpN/eiBog7CmmmL1DOYk"
    "oEdVzezBq6+GLew0cTU82SIzuMZO/MgTYcOz+ZLSFcfZiEfxwEblzDgbInzEuSqEMQ0rfE"
    "QxJ4STex4cH//KnA8IGikoc25Q92m53p3eHsktL9CDdzKD40lrMh0r7S+t/mcSMyB2jZ/L"
    "w+jT8CoIPqCM5H9M5fEkDEIQ3sHBJfrt3rTjBZfwTxv5mBvPrpUn2HNGqOd0oOcSUS3FVg"
    "v+vQjPL/hLiX4sAr+IwC/nEvjF9vVPeXfRBuXFJtoDcqeqL4apUqTyjLypIQkfOVPxa2uT"
    "M1WE+uXRl0ZERq1pZFRi88hU4ARWkVz6m2BKOq765hHxPqW/EToXLnUuhFclRdGAlusVBp"
    "rY+mixQA4zeDft9pBcSQ5otTHt9dBSA/3O4LdBb3qPCnpHok8YTYgaYTSZwS9yqzf5cit5"
    "R9oqhA8ZFU3fOj2d2XijGgbb2T5CV6dp+eryw82uP+GLrB40vm/1erWIwupn5ysodIZJ/f"
    "yTGRxN+31yxz/x0/ztXdUlV3C0dR4fPUZEtPgZlGmaudli4a5cRIs4reA0z5xeAEfVKRkm"
    "2fGfQgqOtWmV8FLk/qmVXC8UAj+LQiDq+U3RBiQcw9mqgMTelarVAJFtR+QLhQ6Am7Gima"
    "EDIMcU/uwwQEF5ntf9+VkQzwV/lWN9cXPFzgV/JdIw54ce/cHFABovjZ0v4TmIof4AkSmF"
    "iqAHfMlDYkNstRti82zACiWqU+4oOhfUabEJDsSpfvvgj+onHWTXpAjUkcSbbGF6pTtKkO"
    "izWklaiM28TClZYjMaJ5/0RflMUFF6nkXpxmckLU3vbiXvOIPo2Gt51+hIruUWuZRbZZT6"
    "eYJuskNupgJuWoBYs0yrUGzTOBXP/Ci5tLm8vs7jeXx9zXY9xs/iWM8t1LTXRXAOKeqgbT"
    "0BxP6GeJpsYJoGUCFrJRGSJZCeI7pjNefdndOqtu8Gg15saXjXTequp/d38ujNOwI9KqQ7"
    "sWE+4k5vGGiptzStR6Uk9IwaBBcKcMFL+1M0Z1CcqhaD+KntOZ6/gqJudcW1KHY09siepq"
    "zfCH/97jLHCI9KMUd48owKuWM+Ali4xVNo6wD7qZu9UNOWYgVHatl8m6pEEEiu9LIiCGS1"
    "QSBFYKwjaGdfL5zF2cB1TD1tIpoRRV2bjnfE1tomIi3lUt42BhBIlvksbYElvbHdObaPNK"
    "WN6xCONyVU0S8IiTWQPE5JIUKSbkvPa9WRNuojsCW0PMENSbLVJXibVJYd6z0zOEMj6daR"
    "1K1qOdLSMjekktBCI9mmpELJyzKzwO+R3ly+l9a/SBq6PUdfBdBYsZCeddSwXUdyTFdbo4"
    "+eQVyPvsGfiABGxTTTWpA/RvUQ8f8TEQz8f4XPMSOEswg3E3YzQ+sd4WDuhWFIUosl+QmU"
    "ftHOkRfmKE0Ncb7JEzjjhh044yYVOMMf/vPi6xevIbRHacJ+QkBlrdqFDARJuhriXX1TFu"
    "qLfTJrLdQXwtmeRyWGcLavlbM94ZHhL+Zpq83o82bmWjNZkhsvoezdwDVbMZXfBMxeBrk0"
    "VNlCjUuFtKQs87qYxiSZqzzmsCu2NewqZQwTkgwb+nr5y6dm1NcZ7oP435SRPhIanD3IB2"
    "HIqx/g84TFFVoyPrVkIpRtVaFs0ViNpKgNJfRe9nQQI6zhbHAmo38+s7yDprYNXaDKE2Il"
    "oOZZV9QYTzqDKQkphI84wlBHHo3INTqi61/HE/keXZNj0jb0Co7U9ICXeXlCDX7Jky/STx"
    "YaygHfKSI127MsKM9zn+LWnUwo6oSijmd21EJRF81ChGYlCIHRoKziaMWaWSu6WMokLUIh"
    "wmWItZ0IlxGVUi4u8ogpFxdsOQU/S5jl6x6S9EG++zIYfL2V/BMkUfZabXRNDjPY6Y7bgx"
    "GSRf0TDpYCrmUU3ZkQIeGZG9yKkK+2A+on3wnCSu/KzjgQUpw+4cDrAH+U1ALC8lOqD5yb"
    "rk+ERuJrUSxCI71GaKRXzcN7LvAfdVsJFbs96oMoxjn1B4soyf6NJq4zN7/fSiYEEhErpK"
    "VpkStfD9GUni3dcQCUdEj2cKAKoa16KYfMJbmFi66ApDsSIjFd1GdtylaTY75pv7dSLJ1r"
    "GCMfIsEWTeMO2Gzx8aAsr3jSibzE/1t+342LDCKf7LlObM0MRc0uW3FeTc2OoBYL1mP7nA"
    "cjG1WSY4OcIKufS1wey90V23J3lU7qcmZJ8Gq0Jv2Zc7905F73mzzCKVt2p5VkVc2nM85Q"
    "GaczIBOBgcIn5kwbJTndWvLiuPNtZU5XSTEshWu2PoZCLpQyXCtlUFVb9O+AwhrwmB2JQl"
    "mqP3Gmda66Rxmq7SjAskxKuFC2Nj9OJbT5Iq6TGL+o45e/qCjF6CStyO/FM6fjapz8qpU4"
    "nTAfFNSycOTayFnn4sKIE/FSO9CIw/CWO7OukdegEx8V6AYdeuOvAOpCHqSctfpqHEjRV0"
    "j9aa/3Wh6kgzkOqsfc6R193Myy+JiJgsfc5x23nMRjApLP8AQZYc84yzG+mWHPiLK3oIyb"
    "IBWrGa5l3IWlLxmGq/1K5x0xz0Ys1NqV8a/99q3kn8xgZ9T9NCHKZu9kBu+74zFRSfsnMz"
    "jtf+0PHvq3kn9SSv1c+c4q9DoHvQxYhbwG41Snt9I0/rp0oWfNn7u64ejQfovf97eClgNu"
    "bTcLfblEy3pIzavF5kuCTDCmcsbghOoq1rfgaKLFF/IUarGOLLuaFwHR+VrIi4Do1QZEZ4"
    "47Yv2eT0FCGW25WsIPvQxLezKkU0o1sxb0ft4mpWjC9MZkDSSfGDtJYn/KLfpgyY9q+hd0"
    "Ym5RS1nEbttefG3sU6lbOAJ42l+zyorpobnD8QLXoPg1pHalMjw33e0iMJcJ1cNZzkrNDN"
    "VDrEWk+MDes5Egq5OcUGGEI8egTPgZkTkCAuEQUNwhYA3UBWqSS7p6hQ54lIZnrUpJj9Wj"
    "hP8mmNlrtTDOPk0Nca7eBXuu2qBoY47S1BDkozRm1UU4MRI9M/xLdxR1GKRPADFOl0qR8L"
    "LyrAYkIrFqkcSq5+fR3mpPut/kgtpPn+pW8o4ziGSBMTYveEd8Lbf63g1yUsaWUHGUDeGs"
    "WEpMPDfzXmSpXJDNcUrBZq7ZrBmmXa4zRwmFNyrfPEbSSUkmRykFl3nmsjCSCSMZb4yo0k"
    "iWL2RJYOw6MGZJHa1mRw1UEoTVoZq1dhF3smxZYSFuEhAJ082pTDevG66Uo8AMN1d51K9X"
    "bPXrlViv54f+p81V9NpTJm8tgTlnxoJuhn4WB2KVcPGoI1i0+OQVBpKr364v2mLuQMDqt3"
    "A4qgyL4SJCY0qE9Z9kSrB2WEYIsEKAFQJsVQIs+oJHYClrk+bVlRHCLU5WQy+C63d5Epui"
    "UkywybOEo5dhK5qqaMAqHNadQloHv4JTO38RGA0d70YuzYU0ueDEQZx4BC8HMCJCLfhQIs"
    "uEvVa2lv6EACrDCAa54EQ5TjxC8xmSeZWyPMnmQoJUcKA4B7AEgD5Bcy0LjyyZ6hum7J9d"
    "yelsgO+OuyaozPsd44X+lQsWBwBOr+B0YF+eS2BP1TDMZzJi6wbAK/UUzpkelzRy4X1ZwP"
    "vSAqq2JhAUAz5GVw7x8xncK8SbBNDU1gCtV8uYaSjkwlOHZ08dXzPxBCzbV98W1GlEKOsg"
    "Qh17A4qwgLKhFxZQYQEVZinuzVIYLoZdykcy2zAVFKo4OXQi8oBIEC0MVmfRj49tsrJN19"
    "KABxIV4xyb2OJV8Ax7oz24Hw7G8q3kn8xgZ9D+Ko8+dXvoZng+g9371md0ixwaJVhVfVw8"
    "D+c0l9ix10IKPsKu4dfWJuwamlGK8MIvzgcjahX/bg1Uw1l7eoUiHEnSHcQazhaqp+YBWd"
    "9YpmFgQbKoFjRJe0IVaCBNnbdGLhIVHM3Wc0AJrcCUVdkViDxeSbCFeoYNdb3UM2J/eZ25"
    "TtF9pxRI3r6+kgmQQKVcPx/ZgnMmp/t2RC1UeDtymlZsSS6o9IlERPR2VRZmQpxOMKA0A7"
    "xNAaX25O/IBPxVbcmPbDI+cEt+ZE/zmTEi75b8+BCwP251whRwIL713CCXxDg91+3HOdxm"
    "dCDE4Z6mmqIbG0RjwI6QhDPqtic8B5U4F9RjjXOlO8raNB8PBOqz7nxBtdQVpUgitgOBSu"
    "R+qyNYfjj5A4Gih9avC17H9D54AHPcozte/uGXBsULIVmkmeWN8OwVVhbR0nszFgwgCLIF"
    "SKqEZJMnfQEsyUaMbErPa8RDVJc0Bxr6Mpx5QHf+IkHwjIsvdQv96hCnF5AMsFgBK5244A"
    "j1Ux0m1v6wtgALd0t2o2SnLiBQeTOYBTSgh9nx0E1MKFIYnN0CpSmxvTKCXkFdMWb4hcbJ"
    "6ucUepRozpFOWAjrKJWAOhfUaPikrQvZKO8IeHZ84cbDOTE3FNGrJ0hraE6pk2bddB3NZD"
    "nu7Xcqi5Dz3K8aHXnYG/xK8qz6ZzM4HMnfuvKDEj5L3gnLBGHU49czOP7aHQ7xA/9kBjvT"
    "Ya/bRqxFrwpOZ3Ak/11ukzyvwVlSYnwdZzULqDZtxwh7121IUYeZ6tSbbVFn2ehO0Qwxca"
    "o64H7s+WurvhimShF52X5mERLhYlbexcwCu7WDuSxsp6JRizS3ZY2FEX+xooxIkQoulOVC"
    "ROWSH/8IkTDXVmWuDZRlBxq66mdNaCYsXZHWt9+AuIhZoQ7Eto5x0pPopsZWrlILt4Cla+"
    "sGRS3vP2lmaePVsAw3QSt/FlXzgQ7UbCVyicACh0YU4G3kPEW6RdSpCiDsF68huu8uLvLo"
    "OS4u2IoO/Cy58oYOdYpirwgjJKffD3bmS8ICgROqn8x+/B+xvA0i"
)
