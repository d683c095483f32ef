#!/usr/bin/env bash
# The whole test suite (`npm test`). With arguments, runs only those test files:
#   bash scripts/test.sh test/foo.test.ts test/bar.test.ts
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/ensure-services.sh

# Remove test containers left by crashed earlier runs (their creating process,
# recorded in the watchdog-test.pid label, is gone). Containers of a run still
# in progress on this shared dockerd are left alone.
while read -r id pid; do
  [[ -z "$id" ]] && continue
  # No pid label: created some other way, maybe by a run in progress; leave it.
  if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
    docker rm -f -v "$id" >/dev/null 2>&1 && echo "[test] removed stale test container $id" || true
  fi
done < <(docker ps -a --filter label=watchdog-test=1 --format '{{.ID}} {{.Label "watchdog-test.pid"}}' 2>/dev/null || true)

# Type-check the code, the tests and the benchmarks together: a test that no longer compiles against
# src/ is a broken test, even if tsx would run it.
echo "[test] type-check: tsc -p tsconfig.test.json"
npx tsc -p tsconfig.test.json

# The whole suite also lints and checks the import graph; with file arguments (iterating on a few
# tests) both are skipped. Both run before failing, so one run shows every problem.
if (($# == 0)); then
  checks_failed=0
  echo "[test] lint: eslint . && prettier --check . (npm run lint)"
  npm run --silent lint || checks_failed=1
  echo "[test] deps: depcruise src test bench (npm run deps: no import cycle, layers kept)"
  npm run --silent deps || checks_failed=1
  if ((checks_failed)); then
    echo "[test] ERROR: lint or dependency check failed (see above); tests not run" >&2
    exit 1
  fi
fi

if (($# > 0)); then
  files=("$@")
else
  mapfile -t files < <(find test -name '*.test.ts' | sort)
fi
if ((${#files[@]} == 0)); then
  echo "[test] ERROR: no test files found (test/**/*.test.ts)" >&2
  exit 1
fi

echo "[test] running ${#files[@]} file(s)"
set +e
# The image test builds the real Dockerfile on the local dockerd (2.5-4 min on vfs); set
# WATCHDOG_TEST_DOCKER_BUILD=0 to skip that part when iterating.
export WATCHDOG_TEST_DOCKER_BUILD="${WATCHDOG_TEST_DOCKER_BUILD:-1}"
# Node 20 applies --test-timeout to each whole file: 25 minutes bounds the slowest (the image build).
node --import tsx --test --test-concurrency=2 --test-timeout=1500000 --test-reporter=spec "${files[@]}"
code=$?
set -e
exit "$code"
