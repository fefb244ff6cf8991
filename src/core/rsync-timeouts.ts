// The time limits rtsync gives every rsync it runs (the watcher's runs, the deletion guard's
// listing, verify). rsync's own defaults wait for ever.
//
// --timeout: I/O inactivity. A target that accepts the connection and then never answers (a
// frozen host, a hung NFS mount behind a daemon) would otherwise hold the run for ever while
// nothing reports it; with it the run ends (exit 30) and is retried. rsync sends keep-alives when
// it is set, so a long quiet stretch of a full sync is not cut short. A target's own rsyncArgs
// may set another value: they come later on the command line, and rsync keeps the last one.
//
// --contimeout: the connection to a daemon (exit 35).

export const IO_TIMEOUT_ARG = "--timeout=60";
export const CONNECT_TIMEOUT_ARG = "--contimeout=15";
