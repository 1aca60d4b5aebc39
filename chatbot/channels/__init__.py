"""Where people meet the assistant: the web page and (later) Telegram."""
