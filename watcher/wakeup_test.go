package watcher

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/muster-go/muster/internal/progress"
)

// A reader that crossed before the round was registered found nothing armed,
// so it sends no notification. Only the level-triggered read in Add can
// complete the round.
func TestLevelTriggerFindsProgressMadeBeforeRegistration(t *testing.T) {
	ctr := progress.NewCounter()
	crossed := ctr.Publish(5)
	require.False(t, crossed, "nothing was armed: the reader sends no notification")

	// Negative control: an edge-triggered watcher arms and waits for a
	// notification. The reader has nothing left to publish and none exists,
	// so that watcher would stall forever.
	ctr.Arm(5)
	edgeCompleted := crossed // its only way to complete
	require.False(t, edgeCompleted, "edge-triggered: stalled")
	ctr.Disarm()

	c := NewCore[string]()
	require.True(t, c.Add("A", []Target{{Counter: ctr, Seq: 5}}), "level-triggered: the read after Arm completes it")
	require.Equal(t, uint64(progress.None), ctr.Threshold())
	require.Zero(t, c.Pending())
}

// Every place a reader's Publish can fall relative to the watcher's Arm and
// read: the round is reported exactly once, never zero times (lost wakeup),
// never twice.
func TestCrossingIsReportedExactlyOnceWhereverThePublishFalls(t *testing.T) {
	cases := []struct {
		name           string
		publishBefore  bool // before Add
		publishArmed   bool // after Arm, before the read that follows it
		publishAfter   bool // after Add returned
		wantCrossed    bool // the reader's Publish returned true
		wantAddDrained bool
	}{
		{name: "before Add: only Add's read sees it", publishBefore: true, wantAddDrained: true},
		{name: "between Arm and read: both see it, Add reports it", publishArmed: true, wantCrossed: true, wantAddDrained: true},
		{name: "after Add: only the reader sees it and notifies", publishAfter: true, wantCrossed: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctr := progress.NewCounter()
			c := NewCore[string]()
			crossed := false
			publish := func() { crossed = ctr.Publish(5) }
			if tc.publishBefore {
				publish()
			}
			if tc.publishArmed {
				c.afterArm = func(armed Counter) {
					require.Same(t, ctr, armed)
					require.Equal(t, uint64(5), ctr.Threshold())
					c.afterArm = nil
					publish()
				}
			}
			reports := 0
			addDrained := c.Add("A", []Target{{Counter: ctr, Seq: 5}})
			if addDrained {
				reports++
			}
			if tc.publishAfter {
				publish()
			}
			if crossed { // the reader's notification reaches the watcher
				reports += len(c.Progress(ctr, nil))
			}
			require.Equal(t, tc.wantCrossed, crossed, "reader crossed")
			require.Equal(t, tc.wantAddDrained, addDrained, "Add's level check drained it")
			require.Equal(t, 1, reports, "reported exactly once")
			require.Equal(t, uint64(progress.None), ctr.Threshold())
			require.Zero(t, c.Pending())
		})
	}
}

// The same race when the threshold moves. Delivered is 1; A waits for 5; the
// watcher adds B (2) and finds it unmet. Then a reader stores 6 and loads the
// armed threshold 5; the watcher arms 2; the reader's CompareAndSwap(5, None)
// fails, so no notification is sent. The Counter API cannot pause a Publish
// between its load and its swap, so the test publishes in the window after
// the Arm and discards the notification, which is what the failed swap
// amounts to. The watcher's read after its Arm must complete A as well as B.
func TestReArmRacingAClaimLosesNoRound(t *testing.T) {
	ctr := progress.NewCounter()
	c := NewCore[string]()
	require.False(t, ctr.Publish(1))
	require.False(t, c.Add("A", []Target{{Counter: ctr, Seq: 5}}))

	c.afterArm = func(Counter) {
		c.afterArm = nil
		ctr.Publish(6) // its notification is lost: nobody calls Progress(ctr)
	}
	require.True(t, c.Add("B", []Target{{Counter: ctr, Seq: 2}}), "B met by the read after Arm")
	require.Equal(t, []string{"A"}, c.Progress(nil, nil), "A drained by the same read")
	require.Empty(t, c.Progress(nil, nil), "and reported once")
	require.Zero(t, c.Pending())
	require.Equal(t, uint64(progress.None), ctr.Threshold())
}
