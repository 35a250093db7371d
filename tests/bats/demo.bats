#!/usr/bin/env bats
# make demo and make demo-nats, as a newcomer runs them: each must end, exit
# 0 and tell the story it promises. The saga's pipe rounds confirm each
# delivery (fold-pm --commit); a round left unconfirmed would deliver the
# same commands forever, which is why the run has a time limit.

load helpers

# the_saga_ended: what the saga in $output must show.
the_saga_ended() {
	assert_output --partial 'round 4: nothing more'
	assert_output --partial 'order/o-1: confirmed'
	assert_output --partial 'order/o-2: cancelled (out of stock)'
	assert_output --partial 'shipping/o-3 v1 Shipped'
	assert_output --partial 'dead letters left: 0'
	refute_output --partial 'round 5:'
}

@test "make demo: the counter, its projection and the saga on a file root" {
	skip_on_nats "demo.sh chooses its store itself"
	FOLD_ROOT=$BATS_TEST_TMPDIR/demo run timeout 120 sh "$REPO/examples/scripts/demo.sh"
	assert_success
	assert_output --partial '"type":"WasReset"'
	assert_output --partial 'exit status: 1'
	the_saga_ended
	[[ -s $BATS_TEST_TMPDIR/demo/projections/total-counter/checkpoint.json ]]
}

@test "make demo-nats: the same demo with its streams on a nats-server of its own" {
	on_nats || skip "with make bats-nats, where nats-server is there"
	FOLD_ROOT=$BATS_TEST_TMPDIR/demo run timeout 120 sh "$REPO/examples/scripts/demo-nats.sh"
	assert_success
	assert_output --partial 'demo: counter/alpha v1 Incremented'
	the_saga_ended
	assert_output --partial 'saga: shipping/o-1 v1 Shipped'
}
