#!/bin/sh
# Crashes on the first request of the run (the first process to see $FLAKY_MARK missing creates
# it), then answers every request with its pid.
read -r line
echo '{"id":0,"ok":true,"result":{"abi":1}}'
while read -r line; do
	id=$(printf '%s' "$line" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p')
	if [ ! -e "$FLAKY_MARK" ]; then
		: >"$FLAKY_MARK"
		kill -SEGV $$
	fi
	echo "{\"id\":$id,\"ok\":true,\"result\":{\"pid\":$$}}"
done
