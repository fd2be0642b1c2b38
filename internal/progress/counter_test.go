package progress_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/muster-go/muster/internal/progress"
	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPublishReportsACrossingOncePerArm(t *testing.T) {
	c := progress.NewCounter()
	assert.Equal(t, uint64(progress.None), c.Threshold())
	assert.False(t, c.Publish(1), "nothing armed")
	c.Arm(3)
	assert.False(t, c.Publish(2))
	assert.True(t, c.Publish(3), "reaching the threshold crosses it")
	assert.Equal(t, uint64(progress.None), c.Threshold(), "the crossing claims the threshold")
	assert.False(t, c.Publish(4), "claimed once")
	assert.Equal(t, uint64(4), c.Delivered())
	c.Arm(2)
	assert.True(t, c.Publish(5), "an armed threshold already behind is crossed by the next publish")
	c.Arm(9)
	c.Disarm()
	assert.False(t, c.Publish(9))
}

// TestArmThenReadNeverLosesACrossing races a reader that publishes every
// sequence against an arming watcher: for every arm, either the watcher's
// read after arming sees the threshold met, or the reader claims it.
func TestArmThenReadNeverLosesACrossing(t *testing.T) {
	raceArmThenRead(t, (*progress.Counter).Arm, (*progress.Counter).Publish)
}

// raceArmThenRead is the race of arm against a reader that publishes 1 …
// 100 and reports claims with crossed, 200 times.
func raceArmThenRead(t *testing.T, arm func(*progress.Counter, uint64), crossed func(*progress.Counter, uint64) bool) {
	for range 200 {
		c := progress.NewCounter()
		const target = 50
		var claimed atomic.Int32
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := uint64(1); s <= 100; s++ {
				if crossed(c, s) {
					claimed.Add(1)
				}
			}
		}()
		arm(c, target)
		seen := c.Delivered() >= target
		wg.Wait()
		assert.True(t, seen || claimed.Load() == 1, "crossing lost: read %v, claims %d", seen, claimed.Load())
		assert.LessOrEqual(t, claimed.Load(), int32(1))
	}
}

func TestCreditDueIsApartFromTheWatchersThreshold(t *testing.T) {
	c := progress.NewCounter()
	c.Arm(5)
	c.ArmCredit(3)
	c.ArmCredit(4) // a higher credit threshold does not replace a lower one
	assert.False(t, c.Publish(2))
	assert.False(t, c.CreditDue(2))
	assert.False(t, c.Publish(3), "the watcher's threshold is 5")
	assert.True(t, c.CreditDue(3), "the sender's is 3")
	assert.False(t, c.CreditDue(4), "claimed once")
	assert.True(t, c.Publish(5))
	c.ArmCredit(9)
	c.DisarmCredit()
	c.Publish(9)
	assert.False(t, c.CreditDue(9))
}

// TestArmCreditThenReadNeverLosesACrossing is TestArmThenReadNeverLosesACrossing
// for the sender's threshold.
func TestArmCreditThenReadNeverLosesACrossing(t *testing.T) {
	raceArmThenRead(t, (*progress.Counter).ArmCredit, func(c *progress.Counter, s uint64) bool {
		c.Publish(s)
		return c.CreditDue(s)
	})
}
