from tests.webhooks.preview_support import preview_server

__all__ = ["preview_server"]
