//! What became of one row: the one list of outcomes the report, the journal, the progress bar
//! and the summary share.

use orginvite::{Ensured, Error};

/// What became of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Outcome {
    /// This run (or an interrupted one, found on resume) created the invitation.
    Created,
    /// The person already had a pending invitation.
    AlreadyInvited,
    /// The person is already a member.
    AlreadyMember,
    /// A dry run: a real run would create the invitation.
    WouldCreate,
    /// Sent, but whether it created the invitation is not known: left as started in the
    /// journal, looked up before anything is sent again.
    InDoubt,
    /// The vendor refused it, or the call failed before it could have created anything.
    Failed,
    /// Nothing was sent for it: a bad row, a person repeated, or the run stopped first.
    Skipped,
    /// A dry run's row that cannot be sent as it is.
    Invalid,
}

impl Outcome {
    /// Every outcome, in the order the summary lists them.
    const ALL: [Outcome; 8] = [
        Outcome::Created,
        Outcome::AlreadyInvited,
        Outcome::AlreadyMember,
        Outcome::WouldCreate,
        Outcome::InDoubt,
        Outcome::Failed,
        Outcome::Skipped,
        Outcome::Invalid,
    ];

    /// The outcome's name in the report: `created`, `already_invited`, ...
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::AlreadyInvited => "already_invited",
            Outcome::AlreadyMember => "already_member",
            Outcome::WouldCreate => "would_create",
            Outcome::InDoubt => "in_doubt",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Invalid => "invalid",
        }
    }

    /// The outcome a report names (a journal's record from an earlier run).
    pub(crate) fn parse(name: &str) -> Option<Outcome> {
        Outcome::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == name)
    }

    /// Whether the person ends invited or a member (or would, in a dry run): the row is done.
    pub(crate) fn settled(self) -> bool {
        matches!(
            self,
            Outcome::Created
                | Outcome::AlreadyInvited
                | Outcome::AlreadyMember
                | Outcome::WouldCreate
        )
    }

    /// The outcome of the library's definite answer.
    pub(crate) fn of(ensured: &Ensured) -> Outcome {
        match ensured {
            Ensured::Created { .. } => Outcome::Created,
            Ensured::AlreadyInvited { .. } => Outcome::AlreadyInvited,
            Ensured::AlreadyMember => Outcome::AlreadyMember,
            // An answer this version does not know: looked up again next time.
            _ => Outcome::InDoubt,
        }
    }

    /// The outcome of a request that ended in `error`.
    pub(crate) fn of_error(error: &Error) -> Outcome {
        if error.may_have_been_created() {
            Outcome::InDoubt
        } else if error.nothing_sent() {
            Outcome::Skipped
        } else {
            Outcome::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back() {
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
        }
        assert_eq!(Outcome::parse("exploded"), None);
    }
}
