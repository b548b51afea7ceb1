import { createCard } from './create-card.js';
import { fundCard } from './fund-card.js';
import { ownerApproved } from './owner-approved.js';
import type { PaidProduct } from './product.js';

/** What card402 sells. A new paid product is one module, added here (docs/ARCHITECTURE.md). */
export const PRODUCTS: readonly PaidProduct<any>[] = [createCard, fundCard, ownerApproved];

export { ProductRegistry, defineProduct, type PaidProduct, type PreparedFulfilment, type ProductContext } from './product.js';
