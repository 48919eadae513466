"""The rclpy side: the ``data_manager`` node and its executable, its parameters, topic
subscriptions, diagnostics, services and events, and its handle on the upload process
(``sync_client``), which it talks to over the wire only, never by importing ``sync``."""
