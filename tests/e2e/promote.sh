#!/bin/sh
# Promotion between environments: production receives the promoted variables and artifacts that
# staging last deployed successfully (same file hashes), and promotion after a failed staging
# deployment, or with nothing deployed, is refused with a clear message.
. "$(dirname "$0")/lib.sh"
P="$T/app"
mkdir -p "$P"
cat >"$P/app.yaml" <<'YAML'
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec:
  systems: [local]
  variables: {version: "${env:APP_VERSION:-dev}", dir: out/staging, fail: "${env:FAIL_STAGING:-no}"}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: production}
spec:
  systems: [local]
  variables: {version: unreleased, dir: out/production, fail: "no"}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: app}
spec:
  promotion:
    variables: [version]
---
apiVersion: exec/v1
kind: Task
metadata: {name: dir}
spec:
  apply: [mkdir, -p, "${dir}"]
---
apiVersion: file/v1
kind: File
metadata: {name: release}
spec:
  path: "${dir}/release.txt"
  content: "app ${version} image ${artifact:app}\n"
  dependsOn: [Task/dir]
---
apiVersion: exec/v1
kind: Task
metadata: {name: smoke}
spec:
  apply: [sh, -c, 'test "$0" != yes', "${fail}"]
  dependsOn: [File/release]
YAML
C() { "$CRATIS" "$@" -f "$P"; }
C artifact record app 2.4.0 sha256:abc123 >/dev/null 2>&1
C promote --from staging --to production --auto-approve >/dev/null 2>"$T/p0.err"
expect_rc "promotion with nothing deployed is refused" 1 $?
expect_in "and says so" "refusing to promote: nothing has been deployed to 'staging' yet" "$T/p0.err"

APP_VERSION=2.4.0 C apply --env staging --auto-approve >/dev/null 2>&1
expect_rc "staging deployed" 0 $?
# a newer artifact recorded after staging's deployment must not reach production
C artifact record app 2.5.0 sha256:def456 >/dev/null 2>&1
C promote --from staging --to production --auto-approve >/dev/null 2>"$T/p1.err"
expect_rc "promote staging to production" 0 $?
expect_in "names what it promotes" "promoting to 'production' what 'staging' deployed in deployment" "$T/p1.err"
expect_in "the promoted variable and artifact" "version=\"2.4.0\", artifact app 2.4.0@sha256:abc123" "$T/p1.err"
expect_in "production got staging's release" "app 2.4.0 image sha256:abc123" "$P/out/production/release.txt"
s1=$(sha256sum "$P/out/staging/release.txt" | cut -d' ' -f1)
s2=$(sha256sum "$P/out/production/release.txt" | cut -d' ' -f1)
expect_rc "same file hash in both environments" "$s1" "$s2"
C state show File/release --env production >"$T/show" 2>&1
expect_in "the recorded hash matches" "\"sha256\": \"$s1\"" "$T/show"

# a failed staging deployment blocks promotion
APP_VERSION=2.6.0 FAIL_STAGING=yes C apply --env staging --auto-approve >/dev/null 2>&1
expect_rc "staging deployment fails" 1 $?
C promote --from staging --to production --auto-approve >/dev/null 2>"$T/p2.err"
expect_rc "promotion after a failed staging deployment is refused" 1 $?
expect_in "the refusal names the failed deployment" "refusing to promote: the last deployment of 'staging'" "$T/p2.err"
expect_in "and its result" "failed: 1 succeeded, 1 failed, 0 skipped" "$T/p2.err"
expect_in "production is untouched" "app 2.4.0 image sha256:abc123" "$P/out/production/release.txt"
C promote --from staging --to staging >/dev/null 2>&1
expect_rc "promote needs two environments" 64 $?
finish
