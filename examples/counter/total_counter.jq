# total_counter.jq: the eventfold-es TotalCounter projection as a fold
# projection handler: counts Incremented, Decremented and WasReset events
# across every counter.
#
#   fold-project --name total-counter --subscribe counter \
#     --handler 'jq --unbuffered -c -f total_counter.jq'
#
# State is {"total_increments":N,"total_decrements":N,"total_resets":N}, the
# fields of eventfold-es's TotalCounter; fold sends null until a first state
# exists, which means all zero.

def initial: {total_increments: 0, total_decrements: 0, total_resets: 0};

# project: the state after one event record. Other events leave it as it is.
def project($r):
  ($r.event.type) as $t
  | if $t == "Incremented" then .total_increments = .total_increments + 1
    elif $t == "Decremented" then .total_decrements = .total_decrements + 1
    elif $t == "WasReset" then .total_resets = .total_resets + 1
    else . end;

if .op == "project" then
  {state: (reduce (.records // [])[] as $r (.state // initial; project($r)))}
else {error: "unknown op \"\(.op // "")\""} end
