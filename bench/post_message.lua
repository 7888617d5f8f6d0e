-- wrk script for the relay's POST /messages: a small JSON message each time.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"destination":"sms:+15550100","body":"this message will self-destruct in 10 seconds"}'
