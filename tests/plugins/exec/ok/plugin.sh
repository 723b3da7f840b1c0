#!/bin/sh
# A well-behaved minimal plugin in shell: every request succeeds with no result.
while read -r line; do
	id=$(printf '%s' "$line" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p')
	if [ "$id" = 0 ]; then echo '{"id":0,"ok":true,"result":{"abi":1}}'; else echo "{\"id\":$id,\"ok\":true,\"result\":null}"; fi
done
