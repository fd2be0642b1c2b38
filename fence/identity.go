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

// Target says that Recipient must have handled Sender's stream up to Seq: Seq
// is the last message Sender addressed to Recipient before it arrived.
type Target struct {
	Recipient Identity
	Sender    Identity
	Seq       uint64
}

// Lag is a target that was not met when it was read: Delivered is how far the
// recipient had handled the sender's stream.
type Lag struct {
	Target
	Delivered uint64
}

// String returns "sender→recipient delivered/target".
func (l Lag) String() string {
	return fmt.Sprintf("%s→%s %d/%d", l.Sender, l.Recipient, l.Delivered, l.Seq)
}
