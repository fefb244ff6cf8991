// Resource ids: the kind and the natural key. A change's dependsOn names other resources by these.
export const resourceId = {
  sysctl: (key: string) => `sysctl:${key}`,
  group: (name: string) => `group:${name}`,
  account: (name: string) => `account:${name}`,
  directory: (path: string) => `directory:${path}`,
  file: (path: string) => `file:${path}`,
  authorizedKeys: (receiver: string) => `authorized-keys:${receiver}`,
  daemon: (name: string) => `daemon:${name}`,
  watcher: (name: string) => `watcher:${name}`,
} as const;
