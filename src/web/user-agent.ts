// The browser of a User-Agent header, in words ("Firefox on Linux", "Safari on iPhone", "curl"),
// for the list of a user's sessions. A small parser of our own rather than a package: the list
// needs a family and a platform, not versions, engines or devices, which is what the maintained
// parsers are mostly made of; and ua-parser-js is AGPL from version 2 (bowser is MIT, but would be
// a dependency for these few lines). The header is chosen by the client: it is shown, never
// trusted, and stored cut to USER_AGENT_MAX_LENGTH.

/** How much of a User-Agent is kept: enough for any real browser's, no room for a flood. */
export const USER_AGENT_MAX_LENGTH = 256;

/** The header as stored: cut to a bounded length, control characters gone; undefined when empty. */
export function storableUserAgent(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  // eslint-disable-next-line no-control-regex -- control characters are what is removed
  const clean = [...value.toWellFormed().replace(/[\u0000-\u001f\u007f]/g, ' ').trim()].slice(0, USER_AGENT_MAX_LENGTH).join('').trim();
  return clean === '' ? undefined : clean;
}

// Order matters: Edge and Opera say "Chrome" too, Chrome says "Safari", and so on.
const BROWSERS: ReadonlyArray<[RegExp, string]> = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\bOPR\/|\bOpera\b/, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bVivaldi\//, 'Vivaldi'],
  [/\bYaBrowser\//, 'Yandex Browser'],
  [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
  [/\bCriOS\/|(?:\b|Headless)Chrome\/|\bChromium\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\/|\bAppleWebKit\/.*\bMobile\/\w+$/, 'Safari'],
  [/\bMSIE |\bTrident\//, 'Internet Explorer'],
];

// Command-line tools and libraries, which name themselves first.
const TOOLS: ReadonlyArray<[RegExp, string]> = [
  [/^curl\//i, 'curl'],
  [/^Wget\//i, 'Wget'],
  [/^HTTPie\//i, 'HTTPie'],
  [/^python-requests\//i, 'Python requests'],
  [/^Go-http-client\//i, 'Go'],
  [/^node-fetch|^undici|^node\b/i, 'Node.js'],
  [/^docker\//i, 'Docker'],
  [/^PostmanRuntime\//i, 'Postman'],
];

const PLATFORMS: ReadonlyArray<[RegExp, string]> = [
  [/\biPhone\b/, 'iPhone'],
  [/\biPad\b/, 'iPad'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMacintosh\b|\bMac OS X\b/, 'macOS'],
  [/\bLinux\b|\bX11\b/, 'Linux'],
];

/** "Firefox on Linux", "curl", "Unknown browser": for display only. */
export function describeUserAgent(userAgent: string | null | undefined): string {
  if (!userAgent) return 'Unknown browser';
  for (const [pattern, name] of TOOLS) if (pattern.test(userAgent)) return name;
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1];
  const platform = PLATFORMS.find(([pattern]) => pattern.test(userAgent))?.[1];
  if (browser && platform) return `${browser} on ${platform}`;
  return browser ?? (platform ? `A browser on ${platform}` : 'Unknown browser');
}
