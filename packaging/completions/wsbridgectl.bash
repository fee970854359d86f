# bash completion for wsbridgectl(1): commands, options, and the session
# names of the running daemon (from "wsbridgectl status --json", asked of the
# socket the command line names with --socket or --system).

# The session names of the daemon that the words typed so far talk to.
_wsbridgectl_sessions()
{
    local -a where=()
    local i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --system) where+=(--system) ;;
            --socket=*) where+=("${words[i]}") ;;
            --socket) where+=(--socket "${words[i + 1]}") ;;
        esac
    done
    # Names are [a-z0-9][a-z0-9_.-]*: no quote or escape can occur in them.
    "${words[0]}" "${where[@]}" status --json 2>/dev/null |
        grep -o '"name" *: *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/'
}

_wsbridgectl()
{
    local cur prev words cword split
    _init_completion -s || return

    # Options that take a value as the next word (GOption also reads --opt=value).
    local with_value='@(--socket|--count|--since|--epoch|--ttl|--last|--header|--option|-o)'
    local cmd='' cmd_at=0 i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --socket) ((i++)) ;;
            -*) ;;
            *) cmd=${words[i]} cmd_at=$i; break ;;
        esac
    done

    case $prev in
        --socket)
            _filedir
            return
            ;;
        @(--count|--since|--epoch|--ttl|--last|--header|--option|-o|--timeout))
            return
            ;;
    esac
    $split && return

    local opts
    case $cmd in
        '') opts='--socket= --system --timeout= --version --help' ;;
        status) opts='--json' ;;
        watch) opts='--count= --since= --epoch= --json' ;;
        send) opts='--binary --verbose --ttl= --wait --allow-empty' ;;
        history) opts='--last= --json' ;;
        add) opts='--header= --option= --persist --no-connect' ;;
        remove | connect | disconnect) opts='' ;;
        *) return ;;
    esac
    [[ $cmd ]] && opts+=' --socket= --system --timeout= --help'

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        [[ ${COMPREPLY-} == *= ]] && compopt -o nospace 2>/dev/null
        return
    fi
    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W 'status watch send history add remove connect disconnect' \
            -- "$cur"))
        return
    fi

    # Which argument of the command is being completed.
    local n=0
    for ((i = cmd_at + 1; i < cword; i++)); do
        if [[ ${words[i]} == $with_value ]]; then
            ((i++))
        elif [[ ${words[i]} != -* ]]; then
            ((n++))
        fi
    done
    case $cmd in
        watch | status) ;;                          # NAME[/CHANNEL]..., NAME...
        send | history | remove | connect | disconnect) ((n == 0)) || return ;;
        *) return ;;
    esac
    COMPREPLY=($(compgen -W "$(_wsbridgectl_sessions)" -- "$cur"))
} &&
    complete -F _wsbridgectl wsbridgectl
