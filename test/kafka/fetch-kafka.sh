#!/usr/bin/env bash
# Fetches the jars of an Apache Kafka broker from Maven Central into Skald's test cache, so that
# test/support/kafka.ts can run a real single-node KRaft broker without Docker or a tarball.
#
#   test/kafka/fetch-kafka.sh VERSION        VERSION: 3.9 or 4.1 (or the full version in the pom)
#
# The exact Kafka version is the <kafka.version> of test/kafka/pom-<major.minor>.xml. Jars go to
#   ${SKALD_KAFKA_CACHE:-$HOME/.cache/skald/kafka}/kafka-<version>/libs
# and a marker file (.complete, holding the pom's checksum) is written last: when it is there and
# matches, the script does nothing. Needs only Java and Maven (`mvn`); Maven keeps its own copy in
# ~/.m2 too. Prints the cache folder on its last line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ $# -ne 1 ]; then
  echo "usage: $0 VERSION   (3.9 or 4.1)" >&2
  exit 2
fi
want="$1"
minor="$(printf '%s' "$want" | cut -d. -f1-2)"
pom="$here/pom-$minor.xml"
if [ ! -f "$pom" ]; then
  echo "fetch-kafka: no $pom for Kafka $want (have: $(cd "$here" && ls pom-*.xml | tr '\n' ' '))" >&2
  exit 2
fi
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom" | head -n1)"
if [ -z "$version" ]; then
  echo "fetch-kafka: no <kafka.version> in $pom" >&2
  exit 2
fi
if [ "$want" != "$minor" ] && [ "$want" != "$version" ]; then
  echo "fetch-kafka: $pom pins Kafka $version, not $want" >&2
  exit 2
fi

cache="${SKALD_KAFKA_CACHE:-$HOME/.cache/skald/kafka}"
dest="$cache/kafka-$version"
libs="$dest/libs"
marker="$dest/.complete"
stamp="kafka $version pom $(sha256sum "$pom" | cut -d' ' -f1)"

complete() {
  [ -f "$marker" ] && [ "$(cat "$marker")" = "$stamp" ] && [ -f "$libs/kafka_2.13-$version.jar" ]
}

if complete; then
  echo "fetch-kafka: Kafka $version jars already in $libs ($(ls "$libs" | wc -l) jars)"
  echo "$dest"
  exit 0
fi

for tool in java mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "fetch-kafka: '$tool' not found on PATH (needs Java 17+ and Maven)" >&2
    exit 1
  fi
done

mkdir -p "$cache"
# One fetch of a version at a time (the test setup and CI may both call this).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache/.lock-$version"
  flock 9
  if complete; then
    echo "fetch-kafka: Kafka $version jars already in $libs (fetched by another run)"
    echo "$dest"
    exit 0
  fi
fi

tmp="$dest/libs.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp" "$marker"
mkdir -p "$tmp"
echo "fetch-kafka: resolving org.apache.kafka:kafka_2.13:$version and its runtime dependencies ($pom)"
start=$(date +%s)
# Maven's own output (with -q: warnings and errors only) goes to stderr. Debian's Maven 3.8 prints
# bare colour codes even with -q -B -Dstyle.color=never: filtered out.
mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
  -DincludeScope=runtime \
  -DoutputDirectory="$tmp" 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2
if [ ! -f "$tmp/kafka_2.13-$version.jar" ]; then
  echo "fetch-kafka: Maven finished but kafka_2.13-$version.jar is not in $tmp" >&2
  exit 1
fi
rm -rf "$libs"
mv "$tmp" "$libs"
printf '%s\n' "$stamp" >"$marker"
echo "fetch-kafka: copied $(ls "$libs" | wc -l) jars ($(du -sh "$libs" | cut -f1)) to $libs in $(($(date +%s) - start)) s"
echo "$dest"
