package wire

// NATS subjects, relative to the deployment's prefix (see bus.Conn).
const (
	// SubjectSessionVerify is a request: SessionVerifyRequest → SessionVerifyReply.
	SubjectSessionVerify = "auth.session.verify"
	// SubjectUsersGet is a request: UsersGetRequest → UsersGetReply.
	SubjectUsersGet = "auth.users.get"
	// SubjectUserRegistered is an event: User, once an account exists.
	SubjectUserRegistered = "auth.user.registered"
	// SubjectSessionRevoked is an event: SessionRevoked.
	SubjectSessionRevoked = "auth.session.revoked"
)

// Chat subjects.
const (
	// SubjectHistoryAppend is a request: AppendRequest → AppendReply.
	SubjectHistoryAppend = "history.append"
	// SubjectHistoryMembers is a request: MembersRequest → MembersReply.
	SubjectHistoryMembers = "history.members"
	// SubjectHistoryRead is a request: ReadRequest → ReadReply.
	SubjectHistoryRead = "history.read"
	// SubjectDeliver is an event every gateway receives: Delivery.
	SubjectDeliver = "chat.deliver"
	// SubjectPresenceConn is an event from gateways: ConnEvent.
	SubjectPresenceConn = "presence.conn"
	// SubjectPresenceHeartbeat is an event from gateways: GatewayHeartbeat.
	SubjectPresenceHeartbeat = "presence.heartbeat"
	// SubjectPresenceGet is a request: PresenceRequest → PresenceReply.
	SubjectPresenceGet = "presence.get"
	// SubjectPresenceHello is an event from a presence replica that just
	// started (empty body): every gateway answers with a heartbeat at once.
	SubjectPresenceHello = "presence.hello"
)

// Media subjects.
const (
	// SubjectMediaClaim is a request from history: MediaClaimRequest → MediaClaimReply.
	SubjectMediaClaim = "media.claim"
)
