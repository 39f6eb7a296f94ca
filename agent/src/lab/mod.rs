//! The netns lab.
