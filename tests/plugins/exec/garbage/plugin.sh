#!/bin/sh
# Answers the handshake, then prints something that is not JSON.
read -r line
echo '{"id":0,"ok":true,"result":{"abi":1}}'
read -r line
echo 'Traceback (most recent call last): oops'
sleep 5
