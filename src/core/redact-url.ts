// URL userinfo out of everything rtsync prints: a password written into a target or repository
// URL (`rsync://u1:Hunter2@host/m`, `https://user:token@git.example.com/r.git`) never reaches
// /healthz, a log line, status, diff or an error. Pure.

// scheme://userinfo@ — userinfo runs up to the first '@' before the host's '/', '?' or '#'.
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/?#@\s]*)@/gi;

/**
 * `text` with the password of every URL's userinfo replaced by `***` (`rsync://u1:***@host/m`).
 * Under http(s) a userinfo without a colon is a token and is replaced whole (`https://***@host`);
 * elsewhere it is a user name (rsync, ssh) and is kept.
 */
export function redactUrl(text: string): string {
  return text.replace(USERINFO, (_m, scheme: string, info: string) => {
    const colon = info.indexOf(":");
    if (colon >= 0) return `${scheme}${info.slice(0, colon)}:***@`;
    return /^https?:\/\/$/i.test(scheme) && info !== "" ? `${scheme}***@` : `${scheme}${info}@`;
  });
}
