#!/usr/bin/env bash
# Tessera load benchmark — the one command.
#
# Usage (from anywhere):
#   bash bench/run.sh                                   # SQLite only
#   bash bench/run.sh --postgres-url postgres://postgres@127.0.0.1:5432/test
#                                                       # SQLite, then PostgreSQL
#   TESSERA_BENCH_POSTGRES_URL=postgres://… bash bench/run.sh   # same as above
#   bash bench/run.sh --mysql-url mysql://root@127.0.0.1:3306/test
#                                                       # SQLite, then MariaDB/MySQL
#   TESSERA_BENCH_MYSQL_URL=mysql://… bash bench/run.sh         # same as above
#   bash bench/run.sh --scenarios login,refresh --duration 5
#   bash bench/run.sh --help                            # every option
#
# Builds the server and the bench in release mode, then runs target/release/
# tessera-bench, which starts `tessera serve` on a free port with a fresh data
# dir (and, for PostgreSQL and MariaDB/MySQL, a fresh database
# tessera_bench_<random> that is dropped afterwards), times argon2id in-process, loads the server from this
# separate process, prints a markdown table and writes
#   bench/results/<backend>-<utc>.json   (sqlite, postgres or mysql: all figures + config + git commit)
#   bench/results/summary.md            (latest run, overwritten)
# Targets are reported (pass/MISS), never asserted; the exit code is non-zero
# only when the run itself fails.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"

# Two invocations, so the server is built with exactly its own features
# (one invocation would unify dependency features with the bench's).
cargo build --release -p tessera
cargo build --release -p tessera-bench

exec "$target_dir/release/tessera-bench" --server-bin "$target_dir/release/tessera" "$@"
