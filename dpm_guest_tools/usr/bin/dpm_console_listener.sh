#!/bin/bash
#
# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
#
# Usage: dpm_console_listener.sh
#
# Runs the shutdown and reboot commands that nova-dpm sends to the
# partition through the HMC's "Operating System Messages" console (for a
# graceful stop or a soft reboot).  In a DPM partition that console is the
# SCLP line-mode terminal, /dev/sclp_line0; dpm_console_listener.service
# connects it to this script's standard input and output.
#
# Each line read is one command.  Blanks are collapsed, then the line must
# be one of the commands in DPM_ACCEPTED below: the script answers
# "dpm_console_listener: running: <command>" on the console and runs it
# (without a shell).  Any other line is answered with
# "dpm_console_listener: ignored: <line> ..." and not run.  The console is
# never a shell: nothing else can be run from the HMC through it.
#
# Because every command gets an answer on the console, nova-dpm can tell
# within [dpm] guest_console_grace_period that the command was taken; a
# login prompt (the distribution's default on this console) or silence
# makes it stop the partition hard at once.
#
# Exit status: 0 at the end of the input.

DPM_LOG_TAG=${DPM_LOG_TAG:-dpm_console_listener}
DPM_ACCEPTED=(
    'shutdown -h now' 'shutdown -P now' 'poweroff' 'systemctl poweroff'
    'init 0' 'halt' 'shutdown -r now' 'reboot' 'systemctl reboot'
)

# say <message...>: answer on the console (standard output).
say() {
    printf '%s: %s\n' "$DPM_LOG_TAG" "$*"
}

accepted() {
    local cmd
    for cmd in "${DPM_ACCEPTED[@]}"; do
        [[ $1 == "$cmd" ]] && return 0
    done
    return 1
}

say "waiting for commands on ${DPM_CONSOLE_NAME:-sclp_line0}"
while IFS= read -r line || [[ -n $line ]]; do
    line=${line%$'\r'}
    read -r -a words <<< "$line"
    command="${words[*]}"
    [[ -n $command ]] || continue
    if accepted "$command"; then
        say "running: $command"
        if command -v logger >/dev/null 2>&1; then
            logger -t "$DPM_LOG_TAG" -p user.notice -- \
                "running '$command' sent through the HMC console" || true
        fi
        "${words[@]}" || say "failed: $command"
    else
        say "ignored: $line (not a shutdown or reboot command)"
    fi
done
exit 0
