# counter.jq: the eventfold-es counter aggregate as a fold handler.
#
# Run as a long-lived filter, one answer per request line:
#   fold-exec --handler counter='jq --unbuffered -c -f counter.jq'
#
# State is {"value":N}; fold sends null until a first state exists, which
# means {"value":0}. Commands are {"type":"Increment"}, {"type":"Decrement"}
# and {"type":"Reset"}; events are Incremented, Decremented (no data) and
# WasReset {"previous":N}.

def initial: {value: 0};

# evolve: the state after one event. Unknown events leave it as it is, so
# old handlers can read logs that newer ones wrote.
def evolve($e):
  if $e.type == "Incremented" then .value = .value + 1
  elif $e.type == "Decremented" then .value = .value - 1
  elif $e.type == "WasReset" then .value = 0
  else . end;

# decide: the events a command causes, or a string saying why it is refused.
def decide($c):
  ($c.type // "") as $t
  | if $t == "Increment" then [{type: "Incremented", data: null}]
    elif $t == "Decrement" then
      if .value == 0 then "counter is already zero, cannot decrement"
      else [{type: "Decremented", data: null}] end
    elif $t == "Reset" then
      if .value == 0 then "nothing to reset"
      else [{type: "WasReset", data: {previous: .value}}] end
    else "unknown command \"\($t)\"" end;

# state: the request's state, null meaning the initial one.
def state: {value: ((.state // initial).value // 0)};

if .op == "handle" then
  .command as $c
  | state as $s
  | ($s | decide($c)) as $d
  | if ($d | type) == "string" then {error: $d}
    else {events: $d, state: (reduce $d[] as $e ($s; evolve($e)))} end
elif .op == "apply" then
  {state: (reduce (.events // [])[] as $e (state; evolve($e)))}
else {error: "unknown op \"\(.op // "")\""} end
