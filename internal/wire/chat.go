package wire

import (
	"encoding/binary"
	"encoding/json"
	"errors"
)

// Message kinds.
const (
	KindText  = "text"
	KindImage = "image"
	KindVoice = "voice"
)

// Conversation kinds, and the lobby's fixed ID.
const (
	ConversationRoom   = "room"
	ConversationDirect = "direct"
	LobbyID            = "lobby"
)

// Media is the metadata of an image or voice message.
type Media struct {
	ID           string `json:"id"`
	URL          string `json:"url"`
	ThumbnailURL string `json:"thumbnail_url,omitempty"`
	Mime         string `json:"mime"`
	Size         int64  `json:"size"`
	Width        int    `json:"width,omitempty"`
	Height       int    `json:"height,omitempty"`
	DurationMS   int    `json:"duration_ms,omitempty"`
	Waveform     []int  `json:"waveform,omitempty"`
}

// Message is one stored message as the contract shows it.
type Message struct {
	ID             string `json:"id"`
	ConversationID string `json:"conversation_id"`
	Seq            int64  `json:"seq"`
	Sender         User   `json:"sender"`
	Kind           string `json:"kind"`
	Text           string `json:"text"`
	Media          *Media `json:"media,omitempty"`
	ClientID       string `json:"client_id"`
	CreatedAt      Time   `json:"created_at"`
}

// Conversation is the lobby or a direct conversation, as one user sees it.
type Conversation struct {
	ID          string   `json:"id"`
	Kind        string   `json:"kind"`
	Title       string   `json:"title"`
	Peer        *User    `json:"peer,omitempty"`
	LastMessage *Message `json:"last_message,omitempty"`
	Unread      int64    `json:"unread"`
}

// AppendRequest asks history to store a message the gateway received. The
// gateway fills SenderID from the verified session; history assigns ID,
// seq and time and checks that the sender may write to the conversation.
type AppendRequest struct {
	SenderID       string `json:"sender_id"`
	ConversationID string `json:"conversation_id"`
	ClientID       string `json:"client_id"`
	Kind           string `json:"kind"`
	Text           string `json:"text,omitempty"`
	MediaID        string `json:"media_id,omitempty"`
}

// AppendReply is the stored message (the first one stored for a repeated
// (sender, client_id)) and who may read it: Members is nil for the lobby
// (everyone) and the two user IDs of a direct conversation.
type AppendReply struct {
	Message   Message  `json:"message"`
	Members   []string `json:"members"`
	Duplicate bool     `json:"duplicate"`
}

// MembersRequest asks which users may read a conversation, on behalf of
// UserID, who must be one of them (else not_found).
type MembersRequest struct {
	UserID         string `json:"user_id"`
	ConversationID string `json:"conversation_id"`
}

// MembersReply: Members nil means everyone (the lobby).
type MembersReply struct {
	Members []string `json:"members"`
}

// ReadRequest moves UserID's read marker in a conversation forward to Seq.
type ReadRequest struct {
	UserID         string `json:"user_id"`
	ConversationID string `json:"conversation_id"`
	Seq            int64  `json:"seq"`
}

// ReadReply is empty; errors are codes (not_found, invalid_input).
type ReadReply struct{}

// Delivery is what gateways fan out: Frame, already encoded once, goes to
// every open WebSocket of every user in Members (nil: every connection).
// ExceptConn, when set, is a connection that must not get it (the sender's
// own socket already had its ack).
type Delivery struct {
	Members    []string        `json:"members"`
	ExceptConn string          `json:"except_conn,omitempty"`
	Frame      json.RawMessage `json:"frame"`
}

// ConnEvent tells presence a WebSocket opened or closed on a gateway.
type ConnEvent struct {
	GatewayID string `json:"gateway_id"`
	ConnID    string `json:"conn_id"`
	User      User   `json:"user"`
	Open      bool   `json:"open"`
}

// GatewayHeartbeat is a gateway's full list of open connections, sent every
// few seconds; presence drops a gateway silent for longer than its timeout.
type GatewayHeartbeat struct {
	GatewayID string     `json:"gateway_id"`
	Conns     []ConnUser `json:"conns"`
}

// ConnUser is one open connection in a heartbeat.
type ConnUser struct {
	ConnID string `json:"conn_id"`
	User   User   `json:"user"`
}

// OnlineUser is a user with at least one open connection.
type OnlineUser struct {
	User
	OnlineSince Time `json:"online_since"`
}

// PresenceRequest asks presence for the online list (or just the count).
type PresenceRequest struct {
	CountOnly bool `json:"count_only"`
}

// PresenceReply is everyone online, most recent arrivals first. Burst is
// set while presence holds a burst of changes back (presence_sync frames):
// a client connecting then waits for its end to fetch the list.
type PresenceReply struct {
	OnlineCount int          `json:"online_count"`
	Users       []OnlineUser `json:"users"`
	Burst       bool         `json:"burst,omitempty"`
}

// MediaClaimRequest asks media whether SenderID may attach MediaID to a
// message of kind Kind in ConversationID, and binds the media to that
// message, named by (SenderID, ClientID): a media item is sent once, and
// claiming it again for the same message (a resend) succeeds again.
type MediaClaimRequest struct {
	MediaID        string `json:"media_id"`
	SenderID       string `json:"sender_id"`
	ConversationID string `json:"conversation_id"`
	Kind           string `json:"kind"`
	ClientID       string `json:"client_id"`
}

// MediaClaimReply is the media's metadata, to store with the message.
// Errors: media_not_found (unknown, another user's, another conversation's
// or another kind), media_already_sent (claimed by another message).
type MediaClaimReply struct {
	Media Media `json:"media"`
}

// A Delivery crosses the bus in its own binary form, not JSON: every
// gateway decodes every delivery, and in JSON the frame would be scanned
// and copied again on each side. The form: the number of members plus
// one (0: nil, everyone), each member, then ExceptConn, each as a uvarint
// length and its bytes; the frame is the rest.

// MarshalBinary encodes d for the bus.
func (d Delivery) MarshalBinary() ([]byte, error) {
	n := binary.MaxVarintLen64 * (len(d.Members) + 2)
	for _, m := range d.Members {
		n += len(m)
	}
	b := make([]byte, 0, n+len(d.ExceptConn)+len(d.Frame))
	count := uint64(0)
	if d.Members != nil {
		count = uint64(len(d.Members)) + 1
	}
	b = binary.AppendUvarint(b, count)
	for _, m := range d.Members {
		b = appendString(b, m)
	}
	b = appendString(b, d.ExceptConn)
	return append(b, d.Frame...), nil
}

// UnmarshalBinary decodes what MarshalBinary made; the frame is copied.
func (d *Delivery) UnmarshalBinary(b []byte) error {
	count, b, err := readUvarint(b)
	if err != nil || count > uint64(len(b))+1 {
		return errBadDelivery
	}
	d.Members = nil
	if count > 0 {
		d.Members = make([]string, count-1)
	}
	for i := range d.Members {
		if d.Members[i], b, err = readString(b); err != nil {
			return err
		}
	}
	if d.ExceptConn, b, err = readString(b); err != nil {
		return err
	}
	d.Frame = append(json.RawMessage(nil), b...)
	return nil
}

var errBadDelivery = errors.New("malformed delivery")

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func readUvarint(b []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, errBadDelivery
	}
	return v, b[n:], nil
}

func readString(b []byte) (string, []byte, error) {
	n, b, err := readUvarint(b)
	if err != nil || n > uint64(len(b)) {
		return "", nil, errBadDelivery
	}
	return string(b[:n]), b[n:], nil
}
