# fulfil.jq: the process manager of the saga example, as a fold handler.
#
#   fold-pm --name fulfil --subscribe order,inventory \
#     --handler 'jq --unbuffered -c -f fulfil.jq'
#
# It turns events into commands:
#   order Placed {sku, qty}               → Reserve {order_id, qty} to inventory/SKU
#   inventory Reserved {order_id}         → Confirm to order/ORDER_ID
#   inventory ReservationFailed {order_id, reason}
#                                         → Cancel {reason} to order/ORDER_ID
#   order Confirmed                       → Ship to shipping/ORDER_ID
# and counts what it saw, {"placed":N,"confirmed":N,"cancelled":N}, which
# fold keeps in process_managers/fulfil/checkpoint.json across runs. The
# state stays small on purpose: it is sent with every request.
#
# fold sends one record per request unless fold-pm --batch N says more;
# reducing over .records works for any number.

def initial: {placed: 0, confirmed: 0, cancelled: 0};


# react: [state, commands] after one record.
# react: the state and commands after record $r, the $i-th of the request;
# each command says which record caused it ("record": $i), so fold-pm
# --batch may send many records at once.
def react($r; $i):
  def command($type; $id; $cmd): {aggregate_type: $type, instance_id: $id, command: $cmd, record: $i};
  .[0] as $s | .[1] as $cmds | $r.event as $e
  | if $r.aggregate_type == "order" and $e.type == "Placed" then
      [($s | .placed = .placed + 1),
       $cmds + [command("inventory"; $e.data.sku; {type: "Reserve", data: {order_id: $r.instance_id, qty: $e.data.qty}})]]
    elif $r.aggregate_type == "inventory" and $e.type == "Reserved" then
      [$s, $cmds + [command("order"; $e.data.order_id; {type: "Confirm"})]]
    elif $r.aggregate_type == "inventory" and $e.type == "ReservationFailed" then
      [$s, $cmds + [command("order"; $e.data.order_id; {type: "Cancel", data: {reason: $e.data.reason}})]]
    elif $r.aggregate_type == "order" and $e.type == "Confirmed" then
      [($s | .confirmed = .confirmed + 1), $cmds + [command("shipping"; $r.instance_id; {type: "Ship"})]]
    elif $r.aggregate_type == "order" and $e.type == "Cancelled" then
      [($s | .cancelled = .cancelled + 1), $cmds]
    else [$s, $cmds] end;

if .op == "react" then
  (.records // []) as $rs
  | reduce range(0; $rs | length) as $i ([.state // initial, []]; react($rs[$i]; $i))
  | {state: .[0], commands: .[1]}
else {error: "unknown op \"\(.op // "")\""} end
