package fence

import "fmt"

// Identity names a member: its name, unique within a coordinator, and the
// number the coordinator gave it when it started (1, 2, 3, …).
type Identity struct {
	Name string
	ID   uint64
}

// String returns "name#id".
func (i Identity) String() string { return fmt.Sprintf("%s#%d", i.Name, i.ID) }

// Target says that Recipient must have handled Sender's messages to it up to
// Seq. Every (sender, recipient) pair numbers its messages 1, 2, 3, …; Seq is
// the number of the last one Sender addressed to Recipient before it arrived,
// so it is also how many messages the target waits for.
type Target struct {
	Recipient Identity
	Sender    Identity
	Seq       uint64
}

// Lag is a target that was not met when it was read: Delivered is how many of
// the sender's messages to it the recipient had handled.
type Lag struct {
	Target
	Delivered uint64
}

// String returns "sender→recipient delivered/target".
func (l Lag) String() string {
	return fmt.Sprintf("%s→%s %d/%d", l.Sender, l.Recipient, l.Delivered, l.Seq)
}
