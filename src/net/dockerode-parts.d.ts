// Types for the dockerode module src/net/docker.ts imports by path (see there why): the Container class that
// dockerode's index exports as `Docker.Container`, whose types @types/dockerode declares for that index only.
declare module 'dockerode/lib/container.js' {
  import type Docker from 'dockerode';
  const ContainerClass: new (modem: Docker['modem'], id: string) => Docker.Container;
  export default ContainerClass;
}
