export { checkRegistry } from '../config/registry-name.js';

/** The registry used when neither $DOCKER_REGISTRY nor berth.yaml names one. */
export const DEFAULT_REGISTRY = 'localhost:5000';
