# probe.jq: an aggregate handler that reports what fold sent it. Each handle
# request becomes one Seen event whose data is the request (without op) plus
# the handler's FOLD_* environment; the state counts the events.
#
#   fold-exec --handler probe="jq --unbuffered -c -f tests/bats/handlers/probe.jq"
def env: {
  FOLD_PROTOCOL: $ENV.FOLD_PROTOCOL,
  FOLD_ROLE: $ENV.FOLD_ROLE,
  FOLD_ROOT: $ENV.FOLD_ROOT,
  FOLD_AGGREGATE_TYPE: $ENV.FOLD_AGGREGATE_TYPE
};
if .op == "handle" then
  {events: [{type: "Seen", data: (del(.op) + {env: env})}], state: ((.state // 0) + 1)}
elif .op == "apply" then
  {state: ((.state // 0) + (.events | length))}
else {error: "unknown op \(.op)"} end
