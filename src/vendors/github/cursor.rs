//! Where a page of GitHub's lists starts.

use url::Url;

/// Where the next page of a GitHub list starts. GitHub lists pending and failed invitations
/// on two routes, one after the other; each pages by `Link: rel="next"`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Cursor {
    /// The first page of the query's list number `route`.
    Start {
        /// Which of the query's lists.
        route: usize,
    },
    /// A page GitHub named by URL (`Link: rel="next"`), followed verbatim.
    Url {
        /// Which of the query's lists.
        route: usize,
        /// The next page.
        url: Url,
    },
}

impl Default for Cursor {
    /// The first page of the first list.
    fn default() -> Cursor {
        Cursor::Start { route: 0 }
    }
}
