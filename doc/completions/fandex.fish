# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_fandex_global_optspecs
    string join \n index-dir= config= socket= h/help V/version
end

function __fish_fandex_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_fandex_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_fandex_using_subcommand
    set -l cmd (__fish_fandex_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c fandex -n "__fish_fandex_needs_command" -l index-dir -d 'Where the index lives [default: /var/lib/fandex for root, else $XDG_DATA_HOME/fandex]' -r -F
complete -c fandex -n "__fish_fandex_needs_command" -l config -d 'Configuration file [default: /etc/fandex/config.toml for root, else $XDG_CONFIG_HOME/fandex/config.toml]' -r -F
complete -c fandex -n "__fish_fandex_needs_command" -l socket -d 'The daemon\'s socket (where `daemon` listens) [default: for a user other than root on their default index, $XDG_RUNTIME_DIR/fandex/socket; else the one in the index directory; clients then try the system daemon\'s]' -r -F
complete -c fandex -n "__fish_fandex_needs_command" -s h -l help -d 'Print help'
complete -c fandex -n "__fish_fandex_needs_command" -s V -l version -d 'Print version'
complete -c fandex -n "__fish_fandex_needs_command" -f -a "index" -d 'Crawl once and bring the index up to date, then exit'
complete -c fandex -n "__fish_fandex_needs_command" -f -a "daemon" -d 'Watch and keep the index current (foreground, systemd-friendly)'
complete -c fandex -n "__fish_fandex_needs_command" -f -a "bridge" -d 'Serve desktop search on your session bus through the system daemon, which answers with only what you may read'
complete -c fandex -n "__fish_fandex_needs_command" -f -a "search" -d 'Search the index (through the daemon when one runs)'
complete -c fandex -n "__fish_fandex_needs_command" -f -a "sync" -d 'Return once every change made before it is searchable'
complete -c fandex -n "__fish_fandex_needs_command" -f -a "status" -d 'What the daemon is doing and why'
complete -c fandex -n "__fish_fandex_needs_command" -f -a "pause" -d 'Pause the daemon\'s work: changes keep being recorded and are applied on resume'
complete -c fandex -n "__fish_fandex_needs_command" -f -a "resume" -d 'Resume after `fandex pause`: apply the changes recorded meanwhile'
complete -c fandex -n "__fish_fandex_needs_command" -f -a "watch" -d 'Stream the normalized change events (diagnostic)'
complete -c fandex -n "__fish_fandex_needs_command" -f -a "extract" -d 'Print what would be indexed for files: type, metadata, notes, text and parts'
complete -c fandex -n "__fish_fandex_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh or fish) to stdout'
complete -c fandex -n "__fish_fandex_needs_command" -f -a "generate-docs" -d 'Write the shell completions and man pages into a directory (for packagers)'
complete -c fandex -n "__fish_fandex_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fandex -n "__fish_fandex_using_subcommand index" -l forget -d 'Remove a root (and its files) from the index' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand index" -l index-dir -d 'Where the index lives [default: /var/lib/fandex for root, else $XDG_DATA_HOME/fandex]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand index" -l config -d 'Configuration file [default: /etc/fandex/config.toml for root, else $XDG_CONFIG_HOME/fandex/config.toml]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand index" -l socket -d 'The daemon\'s socket (where `daemon` listens) [default: for a user other than root on their default index, $XDG_RUNTIME_DIR/fandex/socket; else the one in the index directory; clients then try the system daemon\'s]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand index" -l json -d 'Print the summary as one JSON object'
complete -c fandex -n "__fish_fandex_using_subcommand index" -s q -l quiet -d 'No progress bar (it is shown only when stderr is a terminal)'
complete -c fandex -n "__fish_fandex_using_subcommand index" -s h -l help -d 'Print help'
complete -c fandex -n "__fish_fandex_using_subcommand index" -s V -l version -d 'Print version'
complete -c fandex -n "__fish_fandex_using_subcommand daemon" -l backend -d 'Where content changes come from [default: config `watch.backend`, else auto]' -r
complete -c fandex -n "__fish_fandex_using_subcommand daemon" -l rename-source -d 'Where renames, creates and deletes come from [default: config `watch.rename_source`, else auto]' -r
complete -c fandex -n "__fish_fandex_using_subcommand daemon" -l index-dir -d 'Where the index lives [default: /var/lib/fandex for root, else $XDG_DATA_HOME/fandex]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand daemon" -l config -d 'Configuration file [default: /etc/fandex/config.toml for root, else $XDG_CONFIG_HOME/fandex/config.toml]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand daemon" -l socket -d 'The daemon\'s socket (where `daemon` listens) [default: for a user other than root on their default index, $XDG_RUNTIME_DIR/fandex/socket; else the one in the index directory; clients then try the system daemon\'s]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand daemon" -l user -d 'Run as a user\'s service (the default for a user other than root): index in $XDG_DATA_HOME/fandex, config $XDG_CONFIG_HOME/fandex/config.toml, socket $XDG_RUNTIME_DIR/fandex/socket, inotify, roots default to the XDG user directories'
complete -c fandex -n "__fish_fandex_using_subcommand daemon" -l dbus -d 'Serve desktop search and the API on the D-Bus session bus as org.fandex.Fandex [default: config `daemon.dbus`, else when not root and a session bus is set]'
complete -c fandex -n "__fish_fandex_using_subcommand daemon" -s h -l help -d 'Print help'
complete -c fandex -n "__fish_fandex_using_subcommand daemon" -s V -l version -d 'Print version'
complete -c fandex -n "__fish_fandex_using_subcommand bridge" -l index-dir -d 'Where the index lives [default: /var/lib/fandex for root, else $XDG_DATA_HOME/fandex]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand bridge" -l config -d 'Configuration file [default: /etc/fandex/config.toml for root, else $XDG_CONFIG_HOME/fandex/config.toml]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand bridge" -l socket -d 'The daemon\'s socket (where `daemon` listens) [default: for a user other than root on their default index, $XDG_RUNTIME_DIR/fandex/socket; else the one in the index directory; clients then try the system daemon\'s]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand bridge" -l or-daemon -d 'When you have an index of your own ($XDG_DATA_HOME/fandex), or no daemon answers on the socket, run your own daemon instead (`fandex daemon --user`, serving the bus itself): what D-Bus activation and the user unit run'
complete -c fandex -n "__fish_fandex_using_subcommand bridge" -s h -l help -d 'Print help'
complete -c fandex -n "__fish_fandex_using_subcommand bridge" -s V -l version -d 'Print version'
complete -c fandex -n "__fish_fandex_using_subcommand search" -s n -l limit -d 'At most this many hits' -r
complete -c fandex -n "__fish_fandex_using_subcommand search" -l offset -d 'Skip this many hits first (the next page: --offset 20 --limit 20)' -r
complete -c fandex -n "__fish_fandex_using_subcommand search" -l sort -d 'Order of the hits: relevance, modified (newest first), name (A to Z) or size (largest first)' -r -f -a "relevance\t''
modified\t''
name\t''
size\t''"
complete -c fandex -n "__fish_fandex_using_subcommand search" -l color -d 'Colour the output' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set'
always\t'Always'
never\t'Never'"
complete -c fandex -n "__fish_fandex_using_subcommand search" -l index-dir -d 'Where the index lives [default: /var/lib/fandex for root, else $XDG_DATA_HOME/fandex]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand search" -l config -d 'Configuration file [default: /etc/fandex/config.toml for root, else $XDG_CONFIG_HOME/fandex/config.toml]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand search" -l socket -d 'The daemon\'s socket (where `daemon` listens) [default: for a user other than root on their default index, $XDG_RUNTIME_DIR/fandex/socket; else the one in the index directory; clients then try the system daemon\'s]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand search" -l reverse -d 'Reverse the order'
complete -c fandex -n "__fish_fandex_using_subcommand search" -l json -d 'One JSON object per hit, one per line'
complete -c fandex -n "__fish_fandex_using_subcommand search" -l sync -d 'First wait until every change made before this command is searchable (needs the daemon)'
complete -c fandex -n "__fish_fandex_using_subcommand search" -l names -d 'Locate-style: match file names only and print paths. A word without wildcards is contained in the name (`port` finds `Report.pdf`); with `*`, `?` or `[...]` the whole name matches it (`\'*.tar.gz\'`); fields such as ext:, path:, modified: filter as usual'
complete -c fandex -n "__fish_fandex_using_subcommand search" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fandex -n "__fish_fandex_using_subcommand search" -s V -l version -d 'Print version'
complete -c fandex -n "__fish_fandex_using_subcommand sync" -l timeout -d 'Give up after this many seconds (at most a day)' -r
complete -c fandex -n "__fish_fandex_using_subcommand sync" -l index-dir -d 'Where the index lives [default: /var/lib/fandex for root, else $XDG_DATA_HOME/fandex]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand sync" -l config -d 'Configuration file [default: /etc/fandex/config.toml for root, else $XDG_CONFIG_HOME/fandex/config.toml]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand sync" -l socket -d 'The daemon\'s socket (where `daemon` listens) [default: for a user other than root on their default index, $XDG_RUNTIME_DIR/fandex/socket; else the one in the index directory; clients then try the system daemon\'s]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand sync" -s h -l help -d 'Print help'
complete -c fandex -n "__fish_fandex_using_subcommand sync" -s V -l version -d 'Print version'
complete -c fandex -n "__fish_fandex_using_subcommand status" -l interval -d 'Seconds between refreshes with --follow' -r
complete -c fandex -n "__fish_fandex_using_subcommand status" -l index-dir -d 'Where the index lives [default: /var/lib/fandex for root, else $XDG_DATA_HOME/fandex]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand status" -l config -d 'Configuration file [default: /etc/fandex/config.toml for root, else $XDG_CONFIG_HOME/fandex/config.toml]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand status" -l socket -d 'The daemon\'s socket (where `daemon` listens) [default: for a user other than root on their default index, $XDG_RUNTIME_DIR/fandex/socket; else the one in the index directory; clients then try the system daemon\'s]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand status" -l json -d 'Print the full report as JSON (with --follow: one JSON object per line)'
complete -c fandex -n "__fish_fandex_using_subcommand status" -s f -l follow -d 'Keep following: progress with rate and time left, queues, last changes; redrawn in place on a terminal, one line per change otherwise; ends on Ctrl-C or when the daemon stops'
complete -c fandex -n "__fish_fandex_using_subcommand status" -s h -l help -d 'Print help'
complete -c fandex -n "__fish_fandex_using_subcommand status" -s V -l version -d 'Print version'
complete -c fandex -n "__fish_fandex_using_subcommand pause" -l for -d 'Resume by itself after this long (`90s`, `10m`, `2h`; at most a week) [default: until `fandex resume`]' -r
complete -c fandex -n "__fish_fandex_using_subcommand pause" -l index-dir -d 'Where the index lives [default: /var/lib/fandex for root, else $XDG_DATA_HOME/fandex]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand pause" -l config -d 'Configuration file [default: /etc/fandex/config.toml for root, else $XDG_CONFIG_HOME/fandex/config.toml]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand pause" -l socket -d 'The daemon\'s socket (where `daemon` listens) [default: for a user other than root on their default index, $XDG_RUNTIME_DIR/fandex/socket; else the one in the index directory; clients then try the system daemon\'s]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand pause" -s h -l help -d 'Print help'
complete -c fandex -n "__fish_fandex_using_subcommand pause" -s V -l version -d 'Print version'
complete -c fandex -n "__fish_fandex_using_subcommand resume" -l index-dir -d 'Where the index lives [default: /var/lib/fandex for root, else $XDG_DATA_HOME/fandex]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand resume" -l config -d 'Configuration file [default: /etc/fandex/config.toml for root, else $XDG_CONFIG_HOME/fandex/config.toml]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand resume" -l socket -d 'The daemon\'s socket (where `daemon` listens) [default: for a user other than root on their default index, $XDG_RUNTIME_DIR/fandex/socket; else the one in the index directory; clients then try the system daemon\'s]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand resume" -s h -l help -d 'Print help'
complete -c fandex -n "__fish_fandex_using_subcommand resume" -s V -l version -d 'Print version'
complete -c fandex -n "__fish_fandex_using_subcommand watch" -l backend -d 'Where content changes come from' -r
complete -c fandex -n "__fish_fandex_using_subcommand watch" -l rename-source -d 'Where renames, creates and deletes come from' -r
complete -c fandex -n "__fish_fandex_using_subcommand watch" -l index-dir -d 'Where the index lives [default: /var/lib/fandex for root, else $XDG_DATA_HOME/fandex]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand watch" -l config -d 'Configuration file [default: /etc/fandex/config.toml for root, else $XDG_CONFIG_HOME/fandex/config.toml]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand watch" -l socket -d 'The daemon\'s socket (where `daemon` listens) [default: for a user other than root on their default index, $XDG_RUNTIME_DIR/fandex/socket; else the one in the index directory; clients then try the system daemon\'s]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand watch" -l json -d 'One JSON object per event'
complete -c fandex -n "__fish_fandex_using_subcommand watch" -s h -l help -d 'Print help'
complete -c fandex -n "__fish_fandex_using_subcommand watch" -s V -l version -d 'Print version'
complete -c fandex -n "__fish_fandex_using_subcommand extract" -l index-dir -d 'Where the index lives [default: /var/lib/fandex for root, else $XDG_DATA_HOME/fandex]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand extract" -l config -d 'Configuration file [default: /etc/fandex/config.toml for root, else $XDG_CONFIG_HOME/fandex/config.toml]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand extract" -l socket -d 'The daemon\'s socket (where `daemon` listens) [default: for a user other than root on their default index, $XDG_RUNTIME_DIR/fandex/socket; else the one in the index directory; clients then try the system daemon\'s]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand extract" -l json -d 'Print one JSON object per file (mime, kind, meta, notes, text, parts)'
complete -c fandex -n "__fish_fandex_using_subcommand extract" -s h -l help -d 'Print help'
complete -c fandex -n "__fish_fandex_using_subcommand extract" -s V -l version -d 'Print version'
complete -c fandex -n "__fish_fandex_using_subcommand completions" -l index-dir -d 'Where the index lives [default: /var/lib/fandex for root, else $XDG_DATA_HOME/fandex]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand completions" -l config -d 'Configuration file [default: /etc/fandex/config.toml for root, else $XDG_CONFIG_HOME/fandex/config.toml]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand completions" -l socket -d 'The daemon\'s socket (where `daemon` listens) [default: for a user other than root on their default index, $XDG_RUNTIME_DIR/fandex/socket; else the one in the index directory; clients then try the system daemon\'s]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fandex -n "__fish_fandex_using_subcommand completions" -s V -l version -d 'Print version'
complete -c fandex -n "__fish_fandex_using_subcommand generate-docs" -l index-dir -d 'Where the index lives [default: /var/lib/fandex for root, else $XDG_DATA_HOME/fandex]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand generate-docs" -l config -d 'Configuration file [default: /etc/fandex/config.toml for root, else $XDG_CONFIG_HOME/fandex/config.toml]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand generate-docs" -l socket -d 'The daemon\'s socket (where `daemon` listens) [default: for a user other than root on their default index, $XDG_RUNTIME_DIR/fandex/socket; else the one in the index directory; clients then try the system daemon\'s]' -r -F
complete -c fandex -n "__fish_fandex_using_subcommand generate-docs" -s h -l help -d 'Print help'
complete -c fandex -n "__fish_fandex_using_subcommand generate-docs" -s V -l version -d 'Print version'
complete -c fandex -n "__fish_fandex_using_subcommand help; and not __fish_seen_subcommand_from index daemon bridge search sync status pause resume watch extract completions generate-docs help" -f -a "index" -d 'Crawl once and bring the index up to date, then exit'
complete -c fandex -n "__fish_fandex_using_subcommand help; and not __fish_seen_subcommand_from index daemon bridge search sync status pause resume watch extract completions generate-docs help" -f -a "daemon" -d 'Watch and keep the index current (foreground, systemd-friendly)'
complete -c fandex -n "__fish_fandex_using_subcommand help; and not __fish_seen_subcommand_from index daemon bridge search sync status pause resume watch extract completions generate-docs help" -f -a "bridge" -d 'Serve desktop search on your session bus through the system daemon, which answers with only what you may read'
complete -c fandex -n "__fish_fandex_using_subcommand help; and not __fish_seen_subcommand_from index daemon bridge search sync status pause resume watch extract completions generate-docs help" -f -a "search" -d 'Search the index (through the daemon when one runs)'
complete -c fandex -n "__fish_fandex_using_subcommand help; and not __fish_seen_subcommand_from index daemon bridge search sync status pause resume watch extract completions generate-docs help" -f -a "sync" -d 'Return once every change made before it is searchable'
complete -c fandex -n "__fish_fandex_using_subcommand help; and not __fish_seen_subcommand_from index daemon bridge search sync status pause resume watch extract completions generate-docs help" -f -a "status" -d 'What the daemon is doing and why'
complete -c fandex -n "__fish_fandex_using_subcommand help; and not __fish_seen_subcommand_from index daemon bridge search sync status pause resume watch extract completions generate-docs help" -f -a "pause" -d 'Pause the daemon\'s work: changes keep being recorded and are applied on resume'
complete -c fandex -n "__fish_fandex_using_subcommand help; and not __fish_seen_subcommand_from index daemon bridge search sync status pause resume watch extract completions generate-docs help" -f -a "resume" -d 'Resume after `fandex pause`: apply the changes recorded meanwhile'
complete -c fandex -n "__fish_fandex_using_subcommand help; and not __fish_seen_subcommand_from index daemon bridge search sync status pause resume watch extract completions generate-docs help" -f -a "watch" -d 'Stream the normalized change events (diagnostic)'
complete -c fandex -n "__fish_fandex_using_subcommand help; and not __fish_seen_subcommand_from index daemon bridge search sync status pause resume watch extract completions generate-docs help" -f -a "extract" -d 'Print what would be indexed for files: type, metadata, notes, text and parts'
complete -c fandex -n "__fish_fandex_using_subcommand help; and not __fish_seen_subcommand_from index daemon bridge search sync status pause resume watch extract completions generate-docs help" -f -a "completions" -d 'Print a shell completion script (bash, zsh or fish) to stdout'
complete -c fandex -n "__fish_fandex_using_subcommand help; and not __fish_seen_subcommand_from index daemon bridge search sync status pause resume watch extract completions generate-docs help" -f -a "generate-docs" -d 'Write the shell completions and man pages into a directory (for packagers)'
complete -c fandex -n "__fish_fandex_using_subcommand help; and not __fish_seen_subcommand_from index daemon bridge search sync status pause resume watch extract completions generate-docs help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
