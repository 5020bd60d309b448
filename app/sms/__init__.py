"""Two-way SMS: an outbox that never loses a message, Twilio webhooks, keyword commands."""
