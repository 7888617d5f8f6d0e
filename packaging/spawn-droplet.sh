#!/bin/sh
# The service registry's spawn command for droplets: starts one droplet from
# the redge snapshot and tells its redge who it is; the droplet registers in
# the shared Redis under the id POST /spawn waits for. Set as
#
#   "discovery": {"spawn_command": ["/usr/local/bin/redge-spawn-droplet",
#                                   "{service}", "{id}", "{redis}"],
#                 "spawn_timeout_ms": 240000}
#
# It needs doctl, authenticated (DIGITALOCEAN_ACCESS_TOKEN in
# /etc/default/redge), and these, in the same file or the environment (not
# REDGE_*: redge refuses REDGE_ variables that are not keys):
#   DROPLET_IMAGE         the snapshot's id (packaging/README.md, "Bake")
#   DROPLET_REGION        e.g. fra1;  DROPLET_SIZE  e.g. s-1vcpu-1gb
#   DROPLET_VPC           the VPC where Redis is reachable ({redis} must be
#                         an address the new droplet can reach)
# It returns once DigitalOcean accepted the droplet (a launcher); the
# registry then waits for the id to register.
set -eu

service=$1
id=$2
redis=$3

user_data=$(cat <<USERDATA
#cloud-config
write_files:
  - path: /etc/default/redge
    permissions: "0600"
    content: |
      REDGE_REDIS_URL=$redis
      REDGE_DISCOVERY_ENABLED=true
      REDGE_DISCOVERY_SERVICE=$service
      REDGE_DISCOVERY_ID=$id
runcmd:
  # The app listens on the droplet's private address and is registered
  # with it, so gateways in the VPC reach it.
  - [ sh, -c, 'ip=\$(curl -s http://169.254.169.254/metadata/v1/interfaces/private/0/ipv4/address) && printf "REDGE_APP_BIND=%s\\nREDGE_DISCOVERY_ADVERTISE=%s:3000\\n" "\$ip" "\$ip" >> /etc/default/redge' ]
  - [ systemctl, restart, redge.service ]
USERDATA
)

exec doctl compute droplet create "$id" \
  --image "$DROPLET_IMAGE" \
  --region "${DROPLET_REGION:-fra1}" \
  --size "${DROPLET_SIZE:-s-1vcpu-1gb}" \
  --vpc-uuid "$DROPLET_VPC" \
  --tag-names "redge,redge-$service" \
  --user-data "$user_data"
