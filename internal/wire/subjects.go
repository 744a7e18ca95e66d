package wire

// NATS subjects, relative to the deployment's prefix (see bus.Conn).
const (
	// SubjectSessionVerify is a request: SessionVerifyRequest → SessionVerifyReply.
	SubjectSessionVerify = "auth.session.verify"
	// SubjectUsersGet is a request: UsersGetRequest → UsersGetReply.
	SubjectUsersGet = "auth.users.get"
	// SubjectSessionRevoked is an event: SessionRevoked.
	SubjectSessionRevoked = "auth.session.revoked"
)
