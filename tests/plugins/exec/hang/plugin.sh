#!/bin/sh
# Answers the handshake, then never answers again.
read -r line
echo '{"id":0,"ok":true,"result":{"abi":1}}'
exec sleep 60
