package privdir

// ownerOnlySDDL is the security descriptor, in Windows' SDDL, of a private file or directory: an
// owner (the user), and a protected DACL (P: nothing inherited from the parent) with one entry
// that allows the user full access (FA); a directory's entry is inherited by what is made in it
// (OICI: objects and containers). No other user, group, or SYSTEM is granted anything; an
// administrator can still take ownership, which no mode or ACL can prevent.
func ownerOnlySDDL(userSID string, dir bool) string {
	inherit := ""
	if dir {
		inherit = "OICI"
	}
	return "O:" + userSID + "D:P(A;" + inherit + ";FA;;;" + userSID + ")"
}
