"""The upload process (``sync_worker``) and what runs in it: scanning, the journal, tus and
directory destinations, the uploader. It never imports rclpy, ``node`` or ``capture``; the
node starts it and talks to it over ``wire``."""
