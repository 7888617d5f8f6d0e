#!/bin/bash
# Builds build/redge_<version>_amd64.deb from a staged tree with dpkg-deb:
#   /usr/bin/redge                       the binary of BUILD (stripped)
#   /etc/redge/redge.json                conffile (packaging/redge.json)
#   /lib/systemd/system/redge.service, redge@.service
#   /usr/share/man/man8/redge.8.gz       make_manpage.py: --help + README tables
#   /usr/share/doc/redge/                copyright, changelog.Debian.gz, README.md
# Depends: from dpkg-shlibdeps on the binary. Then lintian, which must report
# no error (warnings are listed, with why, in packaging/README.md).
#
# usage: packaging/build_deb.sh BUILD_DIR   (LINTIAN=0 skips lintian)
set -euo pipefail

build=${1:?usage: build_deb.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "$build" && pwd)
binary="$build/redge"
[ -x "$binary" ] || { echo "build_deb: $binary is missing (make build first)" >&2; exit 1; }

version=$("$binary" --version | awk '{print $2}')
arch=$(dpkg --print-architecture)
# The package's own revision; the upstream version is CMake's.
deb_version="${version}-1"
deb="$build/redge_${deb_version}_${arch}.deb"
# Reproducible: file times and the man page's date from the last commit.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)}

stage="$build/deb/redge"
rm -rf "$build/deb"
mkdir -p "$stage/DEBIAN"

install -D -m 0755 "$binary" "$stage/usr/bin/redge"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/redge"
install -D -m 0644 "$here/redge.json" "$stage/etc/redge/redge.json"
install -D -m 0644 "$here/systemd/redge.service" "$stage/lib/systemd/system/redge.service"
install -D -m 0644 "$here/systemd/redge@.service" "$stage/lib/systemd/system/redge@.service"

mkdir -p "$stage/usr/share/man/man8"
/usr/bin/python3 "$here/make_manpage.py" --redge "$binary" --readme "$root/README.md" \
  --out "$stage/usr/share/man/man8/redge.8"
gzip -9n "$stage/usr/share/man/man8/redge.8"

doc="$stage/usr/share/doc/redge"
install -D -m 0644 "$here/copyright" "$doc/copyright"
install -m 0644 "$root/README.md" "$doc/README.md"
changelog_date=$(date -u -d "@$SOURCE_DATE_EPOCH" -R)
cat > "$doc/changelog.Debian" <<CHANGELOG
redge (${deb_version}) unstable; urgency=medium

  * Package of redge ${version}: the daemon, its systemd units (Type=notify,
    watchdog, SIGHUP reload), the default configuration and redge(8).

 -- redge packaging <packaging@redge.invalid>  ${changelog_date}
CHANGELOG
gzip -9n "$doc/changelog.Debian"

# dpkg-shlibdeps wants a debian/control to read; one with just the source
# stanza is enough, in a scratch directory.
shlib_dir="$build/deb/shlibdeps"
mkdir -p "$shlib_dir/debian"
printf 'Source: redge\n\nPackage: redge\nArchitecture: any\n' > "$shlib_dir/debian/control"
depends=$(cd "$shlib_dir" && dpkg-shlibdeps -O -e"$stage/usr/bin/redge" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "build_deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

installed_size=$(du -k -s --exclude=DEBIAN "$stage" | awk '{print $1}')
cat > "$stage/DEBIAN/control" <<CONTROL
Package: redge
Version: ${deb_version}
Architecture: ${arch}
Maintainer: redge packaging <packaging@redge.invalid>
Installed-Size: ${installed_size}
Depends: ${depends}, init-system-helpers (>= 1.52)
Recommends: redis-server
Section: net
Priority: optional
Description: Redis-backed cache proxy, gateway and message relay in one daemon
 redge is a single-threaded event-loop daemon that puts Redis-backed
 infrastructure in front of a web stack: an app service, a read-through
 LRU cache proxy (HTTP and RESP), a reverse proxy with health checks and
 canary routing, a durable message relay behind a circuit breaker, and
 Prometheus metrics on a loopback admin listener.
 .
 It runs under systemd as a Type=notify service with a watchdog and a
 SIGHUP reload; redge@.service runs several instances on one host.
CONTROL
echo "/etc/redge/redge.json" > "$stage/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 0755 "$here/debian/$script" "$stage/DEBIAN/$script"
done

(cd "$stage" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z |
  xargs -0 md5sum > DEBIAN/md5sums)
chmod 0644 "$stage/DEBIAN/md5sums"
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
rm -f "$deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "built $deb"
echo "  Depends: $depends"

if [ "${LINTIAN:-1}" != 0 ]; then
  # Errors fail the build; warnings and info are shown (packaging/README.md
  # says why each one that remains is there).
  lintian --fail-on error --info "$deb"
  echo "lintian: no errors"
fi
