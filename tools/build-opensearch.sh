#!/usr/bin/env bash
# Assemble (or find) the OpenSearch server the log tests search: OpenSearch 2.19.6 from the
# jars Maven Central serves, run on Debian's Java 17 (3.x needs Java 21). The jars carry no
# distribution layout, so this writes one: lib/ (the server, its class loader for plugins,
# log4j-core), modules/transport-netty4 (HTTP and transport) and modules/analysis-common
# (the common analyzers), each module with the plugin descriptor it needs.
# Cached under ${XDG_CACHE_HOME:-$HOME/.cache}/hxb-lab/opensearch/, built in a temporary
# directory and renamed into place under a file lock.
#
# Prints the home directory as the LAST line of stdout; Maven's output goes to stderr.
# Environment: MVN (default "mvn"), HXB_OPENSEARCH_CACHE.
set -euo pipefail

VERSION="2.19.6"
LOG4J="2.25.4"  # the log4j-api version OpenSearch depends on; log4j-core is optional in its pom
MVN="${MVN:-mvn}"
cache_root="${HXB_OPENSEARCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hxb-lab/opensearch}"
final="$cache_root/opensearch-$VERSION"

if [[ -f "$final/lib/opensearch-$VERSION.jar" ]]; then
    echo "$final"
    exit 0
fi
command -v "$MVN" >/dev/null 2>&1 || { echo "build-opensearch.sh: Maven '$MVN' not found" >&2; exit 3; }
command -v java >/dev/null 2>&1 || { echo "build-opensearch.sh: no java (openjdk-17-jre-headless)" >&2; exit 3; }
mkdir -p "$cache_root"

descriptor() {  # name classname description
    cat <<EOF
name=$1
classname=$2
description=$3
version=$VERSION
opensearch.version=$VERSION
java.version=17
extended.plugins=
has.native.controller=false
EOF
}

assemble() {
    [[ -f "$final/lib/opensearch-$VERSION.jar" ]] && return 0
    local tmp
    tmp="$(mktemp -d "$cache_root/.tmp.opensearch.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    echo "build-opensearch.sh: fetching OpenSearch $VERSION from Maven Central ..." >&2
    cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>hxb-lab.test</groupId>
  <artifactId>opensearch-server</artifactId>
  <version>$VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.opensearch</groupId><artifactId>opensearch</artifactId><version>$VERSION</version></dependency>
    <dependency><groupId>org.opensearch</groupId><artifactId>opensearch-plugin-classloader</artifactId><version>$VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J</version></dependency>
    <dependency><groupId>org.opensearch.plugin</groupId><artifactId>transport-netty4-client</artifactId><version>$VERSION</version></dependency>
    <dependency><groupId>org.opensearch.plugin</groupId><artifactId>analysis-common</artifactId><version>$VERSION</version></dependency>
  </dependencies>
</project>
EOF
    "$MVN" -q -B -f "$tmp/pom.xml" dependency:copy-dependencies \
        -DoutputDirectory="$tmp/jars" >&2
    local home="$tmp/home" netty="$tmp/home/modules/transport-netty4"
    local analysis="$tmp/home/modules/analysis-common"
    mkdir -p "$home/lib" "$home/bin" "$home/plugins" "$netty" "$analysis"
    mv "$tmp"/jars/netty-*.jar "$tmp/jars/transport-netty4-client-$VERSION.jar" "$netty/"
    mv "$tmp/jars/analysis-common-$VERSION.jar" "$analysis/"
    mv "$tmp"/jars/*.jar "$home/lib/"
    descriptor transport-netty4 org.opensearch.transport.Netty4Plugin \
        "HTTP and transport over Netty 4" >"$netty/plugin-descriptor.properties"
    descriptor analysis-common org.opensearch.analysis.common.CommonAnalysisPlugin \
        "The common analyzers, tokenizers and filters" >"$analysis/plugin-descriptor.properties"
    # What Netty does beyond the server's own grants: open and accept sockets, read the
    # kernel's listen backlog, set the class loader of its threads.
    cat >"$netty/plugin-security.policy" <<'EOF'
grant {
  permission java.net.SocketPermission "*", "accept,connect";
  permission java.io.FilePermission "/proc/sys/net/core/somaxconn", "read";
  permission java.lang.RuntimePermission "setContextClassLoader";
};
EOF
    mv -T "$home" "$final" 2>/dev/null || true
    rm -rf "$tmp"
    trap - EXIT
}

if command -v flock >/dev/null 2>&1; then
    (exec 9>"$cache_root/.lock"; flock 9; assemble)
else
    assemble
fi
[[ -f "$final/lib/opensearch-$VERSION.jar" ]] || { echo "build-opensearch.sh: nothing at $final" >&2; exit 1; }
echo "$final"
