package fence

import "fmt"

// Mode selects what a barrier round guarantees at release. The zero value is
// DeliveryFence.
//
// In memory-model terms, with "handled" meaning the handler returned and the
// post-handler work it scheduled ran:
//
//   - Rendezvous: every member's arrival synchronizes before any member's
//     return from the round.
//   - DeliveryFence: additionally, for every message a member sent before it
//     arrived, the handling of that message at each recipient synchronizes
//     before any member's return from the round.
//   - ProcessingFence: additionally, the group was quiescent at an instant
//     before release: every message any member sent on a watched link up to
//     that instant — before or after arriving, from its run function or from
//     its handlers — had been handled, and no handler of such a message was
//     running. The watched links are those whose sender is a member of the
//     round (see processgroup); a message sent by a non-member is not
//     watched.
type Mode uint8

const (
	// DeliveryFence releases a round once everyone arrived and every message
	// any member sent before arriving has been handled by every recipient.
	DeliveryFence Mode = iota
	// Rendezvous releases a round as soon as every member has arrived.
	Rendezvous
	// ProcessingFence releases a round once everyone arrived and the group
	// was quiescent: messages handlers sent while handling pre-barrier
	// messages, and the messages those caused, have been handled too.
	ProcessingFence
)

// String returns the mode's name as the command line spells it.
func (m Mode) String() string {
	switch m {
	case DeliveryFence:
		return "delivery"
	case Rendezvous:
		return "rendezvous"
	case ProcessingFence:
		return "processing"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// Valid reports whether m is one of the declared modes.
func (m Mode) Valid() bool { return m <= ProcessingFence }

// Drains reports whether the mode waits for pre-barrier messages.
func (m Mode) Drains() bool { return m == DeliveryFence || m == ProcessingFence }

// ParseMode turns "rendezvous", "delivery" or "processing" into a Mode.
func ParseMode(s string) (Mode, error) {
	for m := DeliveryFence; m <= ProcessingFence; m++ {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("fence: unknown mode %q (want rendezvous, delivery or processing)", s)
}
