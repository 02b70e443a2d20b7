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
    "eJztXemT2rqW/1dcfJncKibVoZdk+k1NFQ1OwgsNPJbk3Tu8chkjwNNG5nrpTs+d/O8jyT"
    "beJLdtDC3c+oI3Hdn8jpaz6eivxtZcAsN+397pU/MBwMat9FcDqluATlLPmlJD3e3CJ/iG"
    "oy4MUljd6YqzL7awHUvVHPRgpRo2QLeWwNYsfefoJn4JdA0D3zQ1VFCH6/CWC/U/XYCqWg"
    "NnAyz04L//hW7rcAl+Aju43D0oKx0Yy9j36kv8bnJfcZ535N6dvu5B5zMpi1+4UDTTcLcw"
    "LL97djYm3BPo0MF31wACS3UAfoNjufgf4A/0/23wp7yPDYt4XxmhWYKV6hpO5B8vlPBeQ1"
    "EGw6kykaeK0iiAkWZCjC/6VJsAsMaf8O//0WpdXn5sXVzefLq++vjx+tPFJ1SWfG/60cdf"
    "3seEaHlVEcx6X3qDKf4gEzHRYy++8YvQqI7qURFmhOiTYwr/zka16OgH5RP4oz+WxD9AO4"
    "sBwY2QA2HDOwULtupPxQBw7WzQ5YfWpwx4v7fHna/t8TtU6rc4yAP/Uct7hvEO8d1ZYKX/"
    "LIJwSFFDjC9bOSC+bDERxo/iAJPRS9mo9qYIyHGqaoB+3dEkBvPNVQ6Yb66YMONHcZgt02"
    "CMEzJ0twTkHvogFWogBXZAy3N7bgx/DOTxrUQOc9ju3vcGtxI5zOFwJI/b0yF+7J/NYVf+"
    "Lvfx5a20P53D7z35B77lHVE9X+TBFNWDD40yY9JNniHphj0i3SQZaWsmriPFyr9PhgN6Xw"
    "kpEgxc6poj/Z9k6HZq8q2KkY3/XLlQwzySFq5uODq03+P3/VfjSP0oA26MEK55a9t/GlGY"
    "3923/5nkQKc/vCOQmbaztkgtpIK71Pxg/g/QHEVfFuJJgkwwpnLGaBbAkCmL5yLzSpyK5w"
    "Gv5MzSur7OMSKhUswhiTyjY606aay76Imjb0E23h5lshv4pO+Dk3NEH/3B5RAaz748kQH+"
    "tHcvT6bt+1GsL3TbUxk/aZG7z4m775JTx74S6Udv+lXCl9Ifw4Gc7DL7ctM/GvibVNcxFW"
    "g+KeoyIvoEdwPUYlwHP3c6qq0E1+OUFXDd/1xemH4mTA4wyeSyodqO4tqleneSVnCaZ05b"
    "4BFpVWX4HKcUXOaNy9h2t3qI2I/wjYWqPTyp1lJJPTFbJqts+tG2tU3eUaG6JkzCaOLv9E"
    "2aHXO71Z2JozquB2DC5Bl73swye2qkpGKHRV8yfTaGrrMwf0rmSvKIJY8Y2E3pydIdB0BJ"
    "h5KzAajxqdBWPdkYFce3tI0K10BCVBbYmZZjv08qg8eo/2Wj7F+NEPqGDaDjd0F1ocKlCf"
    "ddEoKf+JEDtjtSBFeDJmHUrGz0FXvO+fzwO0HQgRukMPpqcvFLGIK5NAQHXWKjFtJ3YlQ1"
    "1Heqt6Thfl3alLYn5hnqxkgedHuDL7fSDsAlwnoOJ7NOR55MbiXb1TQ0aszh53avPxvL+I"
    "264VpgDuXxGJvYgGWZVhlbWR7rPdt2n7LcR/9TgR6RIOOZT2X9JFcXeYySVxdsqyR+ljDj"
    "qxaapRTXMgqZ8WNUdcT6opVnAMLF2GiTh8Li8kaE9SibfZGNYlpmSlVRkpdlq6r4eXFc2a"
    "r14erj1afLm6u9SLW/kyVJBVJTxF2eEIQLdh4KuehBXPegiFJUhNERMmHO4Jm/SU23CJOT"
    "tILTPHOaGJP3ykWcz1M0LmeYoPdUpSTMM+Kp/M9pjJ0pR+qepf3h4EtQPOldTepRO8N83u"
    "IBsaiFJ0V6OoGkJvaekA0b03wozIAIkYC+EPQpk3mcE2k2fDYtoK/hN/CcsgAloPet3V90"
    "56tf05lx4VfQzIK74SBpqU97y3C09aG/j/40cDx7QHvSaXflBmOYqQDbbqyymsKbGl3pIL"
    "+OryfCAYqnJ84ftp8n3iiqjW/HDhPrUfeaEXS3C3T7X9n+FVLcBztiRznEm4K7QOIdwPJf"
    "4bu3Kqw+bvxBb6ny0/fOuAPrFQ4mLh1MfhdJcYAJf0hQJ9mjMlNU2F/KOpJcmpHviFbzxj"
    "9m8kzuNooB7FPdSt5xDkdjedTGniP/BMdij/rD33EgNj7O4efeoN3v/YGKBGdz2Bnej/ry"
    "FFe0P/W8UPiWdyzjdao+Qhu9TjNcm+l3epm58Ro4VlobxC8odzEL9qdJriDetQcdmdwJzu"
    "Zw8q03GhE674QP3qG3r9e0US4f4yLkPDuzGrMJXuSAf+fwh3z3dTj8div5J3PYHvVuJfTD"
    "4/IHJP7RDEDsSPs9welj7F/HCHSUaHod7lyKYsaGfU8gYD9kEYMJV/pasaG6szdmIQZQSA"
    "UrDmDFEmiGaiHdyQO2CCsopIIVB7BiZZn/C6BSeExK0gkmHM4EG2gWcGwFQK2IW4ZOzbGk"
    "y617huERY/cCljOsWPM/H9SP0votoNo0/Y7d4kMK0cqLt3INq1uGUhz2FKFAvwT6ItrwLU"
    "RY2I5qlWNznFLE0fDMZc+4uCzXnRO0gtNcczqY+xCydsnxm16F4DvXfDdUxIPCqS9iVHUQ"
    "k06QHsxAciVQymdCoNGLzsVz5/Kj/9OMfmlFBoW1YkGGF59rmGvFBn8WwDRJJoClAgsecX"
    "RYCWhjhALcJLgAPuqWCUsFRadp6xQec+Ko6J0FHnXwVJgJcbpSDOBsjn0t/IM8dkXxj9KJ"
    "DlCaAZZpGDhiVzFXhZmQphUdoSwfYoG7+VkQIxPd4CD4w9jsYviHdIIBVa2RiYTWH7iUYx"
    "LWdGaMyLuOI94GX14p48+dFWA7CmuqKbZxOeNlbCPCeQX4yvHaaopxWqF5GWdv3qtoeAAc"
    "hdYeZXTYSwgxYMfyZDrudaYNlkBYAbyFFtJxJgjmRTgtBsdgRp8hDWb9fnIQJgpkJYMwqa"
    "nYWHGmUMfVbkZrZi9YTGe783MsUoQ+v4LP38bAUBnZvBh5J2syklCHhQOhquN4EBcAsOGz"
    "MpDkx3pN/YlwEbCrDKkJqqyuQOlLsN2ZDoDas/IAng/ErBfWhiaZumKGfTuGDg8d2vvmuo"
    "9qqStK5gKLhwSDA4EahjXVdGR/AguSkAL9XR1J1PqhTeuHV1/Xqy5PRzwX1E6TF8KbGzOT"
    "Q+ynzzwZIjyfJSldcZ6IeBYK7BTNzBMh0h+cq0ET07DSHxRzop/cc358/CtznhM0UlDmXG"
    "Dt03K9urozltteogLvZA4n0/Z0NlE6X9uDL2TNe+waP5dH0afhVbB4XhnL/5ghFTlcRB/e"
    "wckRBp3+rOslR/BPG/mYG98dKk+y4oxUxelExSWyMoqlAvxHwZ1f8pIS/VgkLhGJS84lcY"
    "nt20/yrgINyotFoAfs/ak+G6ZKkcoz9v0MSfjY8xO/tjZ7fopUtTzGgojMnjXN7Els9pkG"
    "nMCqn8t+E0xJxzXfPCDep+w3wubCpc2F8KqkKBrQcq1hoIltgJQFcpjDu1mvj+RKckDaxq"
    "zfR6oG+p3D78P+7B4V9I7EnjCeEjPCeDqHX+V2f/r1VvKONC2EDxkVTd86fTuuyVY1DHaw"
    "eISuTtPyZevjzb4/4YusHjS5b/f7tcgi6u8uV1DoDDel80/mcDwbDMgd/8Tfpu5FrS6pwd"
    "H0PD56jMjI8BaMaZq53WHhrlxGhjit4DTPnF4CR9UpOySy8xeFFBxb0yrhpdi7plZyvTAI"
    "vBWDQDRymWINSAQ2s00BibUXVZsBIstmyBcKGwA3Y0UzwwZAjin82WlsgvI86/35WRDfy/"
    "wyh35xc8ney/xSbCOcH3r0B5dDaDw39rGE5yCG+gNEphQqFu3zJQ+JBZ3VLujMs4AolKhO"
    "uSLmXFCnra0/EKf6reM+apx0sDskRaCObBzJFqbXuqMEG1VWK0kLsZmXKSVLbEbj5KO+LL"
    "+TUZSeZ1G68QVJS7O7W8k7ziE69tveNTqSa7lNLuV2GaN+nqSR7JSRqYSRFiDeLNMqlJsz"
    "TsUzP0qqNq3r6zyRx9fX7NBj/CyO9cJCTXtTBOeQog7W1hNA7C/opskGpmkAFbI0iZAsgf"
    "QC0R2rOe/vnNa0fTcc9mOq4V0vabue3d/J43cfCPSokO7EhvlIOL1hIFVvZVoPSknoGTUI"
    "LhTggrdtTdE9b+JUtRjET+3P8eIVFHWnK65F8aOxR/Y0Zf1G+OsPrRwjPCrFHOHJMyrkjv"
    "kAYOEWT6GtA+ynbvbCTFuKFRyZZfMtqhJJDLmyy4okhtUmMRSJnY5gnX29dBZnA9cx7bSJ"
    "bDwUc206Xw/bapvIFJTLeNsYQiBZ5pO0A5b0znYX2D/SlLauQzjelFBFvyEkNkDyOCWFCE"
    "m6LT1tVEfaqg/AlpB6ghuSZKsr8D5pLDvWe+ZwjkbSnSOpO9VypJVlbkkloYdGsk1JhZK3"
    "S8oSv0d617qSNr9JGrq9QF8F0FixlJ501LBdR3JMV9ugj55DXI++xZ+IAEbFNNNakj9GjR"
    "Dx/xMRDPx/hc8xI0SwCDcTdjPD6h3hYG7FMCSphUp+AqNftHPkhTlKU0Ocb/IkzrhhJ864"
    "SSXO8If/vPj6xWsI7VGasL+hnbJR7UIOgiRdDfGuvikL88VLMmstzBci2J5HI4YItq9VsD"
    "3hkeEr8zRtM/q8malrJktyEyWUvRq4ZhpT+UXAbDXIpaHKFmpcKqQlZZnXxTQmyVzmcYdd"
    "sr1hlylnmJBk2NDXK14+NaO+znAf5K+mjPSR1NbsQT5Io139AJ8nLa6wkvFpJROpbKtKZY"
    "vGaiRFbSmp97KngxhhDWeDMxn987nlHTS1bekCVZ4UKwE1z7aixmTaHc5ISiF8xBmGuvJ4"
    "TK7REV3/PpnK9+iaHJO+oVcIpKYnvMzLE2ryS55ikd5YaigH/KSI1OzIsqA8z32K23AyYa"
    "gThjqe2VELQ110Qx2K9pbYb4etwZmJgse00sW2MUlEdJHP8AwYmErsbnJ2Y08zQyWMsreg"
    "KpMgFcoM18rM0tJXjPiYl+XmPTHPYhdq7crk90HnVvJP5rA77n0mGzD4J3N435tMSOpI/2"
    "QOZ4Nvg+GPwa3kn/AhF6PXOehlwKJEd7KzzMep+Eg0j99Xn0Tz+moFLACpWRHYfEmQCcZU"
    "zhicDlO10GSEY0ELazc06lIKDmfrlU4pY4jlLLwqmGI5S7XLWZjjzqn1d85Gm7wY00bbGN"
    "LoQ6TBrN9/LRV+5K2PfyG/JaVUM0uh91fdK0XTXTamGyD5xJK5kkyILtEHS35M6t/QiblD"
    "LWUZu217qyPwkgrdwus30gs7qqyYvrAiHC9wDYpfQ/Y2qmFuene3DGInhOnhLGelZobpId"
    "YiUnxgJyNMkNVJTqjQP+0YlAk/w68SEHDsGuPWr7IB6hI1yRXdvEIHPErDs1WFp8UbBDN7"
    "oxbG2aepIc7VL9pYqDYo2pijNDUE+SiNWXURTow0fXSUQ4o6DNIngBgnu6JIeFlZsgISkR"
    "arSFqs89uLqt2Z9r7LBa2fPtWt5B3nEMkCE7J5FDnia7k98G6QkzK+hIrDpUTkeikx8dzc"
    "exFVuSCb45SCzVyzWTNMu1xnjhKKvcL45jGSTkoyOUopuMwzl4WTTDjJeGNElU4ytufmtf"
    "fi4HNQO232smC/GKpba7+VTJYvKyzEzfJx4bo5levmdfdm42iludiZ7ZRywptdaf7aUyZv"
    "LYE5Z0Z7UiTO4kCsEiEedQTLAmsdPX5W0CiyRP9TV40DQRv7NXb2FdYVO7FP2itIsJTmRR"
    "Fm6Y2QLddSukEuGbfRlnyR+N9sKdKFpJVpkbiqoOKmRDLWLp4lgLMte4FVKlySsOwljsLS"
    "HVsKWlQ6ZOuI73lp8+SgapHt4zyE9D2/CgjqURrhyM/nZUYdzSqqEEVpBM45txxTbfvJRP"
    "NGwc1oknS1wPvUIW5CLWU3/XqppVGuG6rtKG45j2OSVrijeHZHia3h+XJHia3hT7U1/DGV"
    "VKzTE00qpZj6T5pZyqgdlhE+ljenvgkfy9F8LOgLHoClbEzawiM2wgmyWugRJ9hI1DFsRV"
    "MVDViFd86lkNYh9P3UyhuB0dBxvqzSXEiTC04cxIkH8HwAIyLUgg8l9pO2N8rO0h8RQGUY"
    "wSAXnCjHiQeklUIyr1J8aNlcSJAKDhTnAJYA0CdormXhkSUzwoAp+2dXcjq7wIfj6gSVLd"
    "DGeKF/5YLlAYDTKzgd2K2LM0FbNQzziYzYugGwpp7COXNRII1cLBAssEDQAqq2IRAUAz5G"
    "Vw7x8xncK8Sb2N61DUD6amnTfZxcWO95tt77lolHYNkFt2dNU9ZBhDp2joSdZf58VnACRV"
    "AI7SSdwDov1qwl5uycm0m6g5JucoZ5BsbHya4pvP9vxPsvgtIrd1eKWOHXjhUO4GL4YX0k"
    "sx2xQaGK99JLJIMkXyfia4WDlvd+fGwXrW26lgY8kKgY58grFK+CZ9gbneH9aDjB2355J3"
    "PYHXa+yePPvT66GZ7PYe++/QXdIodGCVZVv1WBh3MR0Tyk4CMTPn5tbTLhoxmlCC/84nww"
    "olZbEmyAajgbz45WhCNJOqG4lucBekTGmkKWgxiRQL88+mvdUXDSyiLgR2kE9ge0fNN1Ck"
    "3KewKBennUiT3FMg0DK64FnV0p2hO6GAPt7bw9XpF9IZF2sACU7LpM3Zhdwen86efiThfm"
    "YDbU9TIHixSjdeY6xbecMlh7a2nKcD1OKQII+GFyum9HzNCFlwCmacUywIJGZrEOkxsGeI"
    "vuSqVl3ZMJ+MUy2MrnmUqWwTLG/ArwrWeOtCTG6bnuZZzDZbwHQhyuGa4purFBNAbsGEk4"
    "415nynNe4XNBPWWi3Zjmw4FAfdGdr6iWuqJkLnDTJBgcCNQwrKmuYPk7ih4IFH131brgdc"
    "xopx9ggXt0Fxg6Tv3XoEQ9JYs0s6KfnrzCeDQOS7+YEHFIkhGSXTolFSctfNSXwJJsxMim"
    "9LRBPER1SQugoS/z0hH+TYLgCRdf6Rb61SHeYVYywHINrHQixCPUTw3Q2vjD2hIs3R1Z7Z"
    "m9ey2BypvBLKABhFhgAUE3MaHYxfbsFJSmxI4CC3oFVWPMWHcRJ6vfQoCjpACMdMJCWEep"
    "BNS5oEbDJ00vZKO8J+A50I6bVS2JuaGIXT1BWkN3Sp0s66braCYrUPjlINYIOc/9qtGVR/"
    "3h73jry+BsDkdj+XtP/qGEz5J3wjLBTprx6zmcfOuNRviBfzKH3dmo3+sg1qJXBadzOJb/"
    "LnemuGBwlpQYXyc41gKqTVuRyc5qEVLUYaY6dTIL1Fm2ulN0k/A4VR1wP/qqTPXZMFWKyJ"
    "uxIDMkESFmh4S07nUHc1XYT0WjLuWu4owLr+MsjMSLFWVEilRwoSwXIiaX/PhHiIS7tip3"
    "bWAsO9DRVT9vQjPh6Yq0vpcdiMuYF+pAbOu4VWYS3dTYGsMYfYU0mPX7r5UUug0sXds0KG"
    "Z5/0kzyxqvhmW4SQr9VkzNBwZQs43IJRL3HJqxh7eR8wQmTdypCiDsF68huh8uLvLYOS4u"
    "2IYO/CypeUOHOkWxNcIIyenXn565SlggUUv1k9mv/wd4jC04"
)
