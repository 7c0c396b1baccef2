# bash completion for kpthin(1)                                   -*- shell-script -*-
# Installed as share/bash-completion/completions/kpthin.

_kpthin_channels() {
    # Complete channel files of one kind (write or read), plus directories.
    local suffix=$1
    local IFS=$'\n'
    COMPREPLY+=( $(compgen -f -X "!*.${suffix}" -- "$cur") )
    COMPREPLY+=( $(compgen -d -S / -- "$cur") )
}

_kpthin() {
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    local global_opts="-c --config --timeout --json -v --verbose -q --quiet -V --version -h --help"
    local subcommands="keypair write read tombstone copy send watch services help"

    # The subcommand is the first word that is not an option or an option's argument.
    local sub="" i
    for (( i=1; i < cword; i++ )); do
        case ${words[i]} in
            -c|--config|--timeout) (( i++ )) ;;
            -*) ;;
            *) sub=${words[i]}; break ;;
        esac
    done

    case $prev in
        -c|--config|--seed-file|--import|--state)
            COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
        -f|--file)
            COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
        -o|--output-dir)
            COMPREPLY=( $(compgen -d -- "$cur") ); return ;;
        --timeout|-i|--interval)
            COMPREPLY=( $(compgen -W "500ms 5s 30s 2m 10m" -- "$cur") ); return ;;
        --split)
            COMPREPLY=( $(compgen -W "lines box 1000 4k" -- "$cur") ); return ;;
        --until)
            COMPREPLY=( $(compgen -W "connected pki" -- "$cur") ); return ;;
        -s|--service)
            COMPREPLY=( $(compgen -W "echo courier" -- "$cur") ); return ;;
        -t|--to)
            COMPREPLY=(); _kpthin_channels write; return ;;
        -n|--count|-d|--delimiter|--last|--box|--from|--next)
            return ;;
    esac

    if [[ -z $sub ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=( $(compgen -W "$global_opts" -- "$cur") )
        else
            COMPREPLY=( $(compgen -W "$subcommands" -- "$cur") )
        fi
        return
    fi

    local opts
    case $sub in
        keypair)   opts="--seed-file --print --no-files --import --export -f --force" ;;
        write)     opts="-f --file --split --box-exists-error" ;;
        read)      opts="-n --count -F --follow --no-wait --until-empty --skip-tombstones -d --delimiter --framed -o --output-dir" ;;
        tombstone) opts="--last --all --box --from -n --count --next --atomic -y --yes" ;;
        copy)      opts="-t --to -f --file --framed --state --resume" ;;
        send)      opts="-s --service -n --count -i --interval --raw" ;;
        watch)     opts="--until" ;;
        services)  opts="" ;;
        help)      opts="" ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=( $(compgen -W "$opts $global_opts" -- "$cur") )
        return
    fi
    COMPREPLY=()
    case $sub in
        write|tombstone) _kpthin_channels write ;;
        read)            _kpthin_channels read ;;
        services)        COMPREPLY=( $(compgen -W "echo courier" -- "$cur") ) ;;
        help)            COMPREPLY=( $(compgen -W "$subcommands" -- "$cur") ) ;;
    esac
}

complete -F _kpthin kpthin
