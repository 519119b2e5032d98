package agentproto

import (
	"fmt"
	"net"
	"regexp"
	"strings"

	"github.com/google/uuid"
)

// UsernameFor is the Linux login a node creates for an allocation: "g" and
// the first 12 hex digits of its id. It lives here, not in the process
// runtime, because both sides need it: the agent names the user, and the
// control plane shows it in the allocation's connection without importing
// the runtime's os/exec code. 48 bits keep collisions out of reach on one
// host, and the runtime refuses a name that another allocation holds.
func UsernameFor(id uuid.UUID) string {
	return "g" + strings.ReplaceAll(id.String(), "-", "")[:12]
}

// sshHostRE is a DNS name: labels of letters, digits and inner dashes.
var sshHostRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$`)

// CheckSSHAddress says why host and port cannot be what a node advertises
// for SSH, or nil. host is a DNS name or an IP address, or empty for the
// node's hostname; port is 1 to 65535, or 0 for 22. Both sides check: the
// agent to fail fast on a bad flag, the server because users paste the
// resulting ssh command into a shell.
func CheckSSHAddress(host string, port int) error {
	if host != "" && net.ParseIP(host) == nil && (len(host) > 253 || !sshHostRE.MatchString(host)) {
		return fmt.Errorf("ssh host %q is neither a DNS name nor an IP address", host)
	}
	if port < 0 || port > 65535 {
		return fmt.Errorf("ssh port %d is not in 1..65535", port)
	}
	return nil
}
